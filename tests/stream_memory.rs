//! The CLI streams in constant memory: 1 GiB through a pipe peaks far below
//! 8 MiB of resident memory. Peak RSS comes from the kernel (`wait4`'s
//! `ru_maxrss`), a count, not a time.
#![allow(unsafe_code)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const GIB: usize = 1 << 30;

#[test]
fn one_gib_from_a_pipe_peaks_under_8_mib() {
    if !common::full_suite() {
        eprintln!("SKIPPED: streams 1 GiB; set ATOMIC_WRITE_FULL_SUITE=1");
        return;
    }
    let dir = common::scratch();
    let out = dir.path().join("out");
    // --no-sync: memory does not depend on syncing, and the disk is spared.
    #[allow(clippy::zombie_processes)] // reaped below by wait4, for its rusage
    let mut child = Command::new(common::bin())
        .arg("--no-sync")
        .arg(&out)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        for _ in 0..GIB / chunk.len() {
            stdin.write_all(&chunk).unwrap();
        }
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `struct rusage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unwaited child; the pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    feeder.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "atomic-write failed: {status:#x}"
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len(), GIB as u64);
    let peak_kib = usage.ru_maxrss;
    eprintln!("peak RSS streaming 1 GiB from a pipe: {peak_kib} KiB");
    assert!(
        peak_kib < 8 << 10,
        "peak RSS {peak_kib} KiB, not under 8 MiB"
    );
}

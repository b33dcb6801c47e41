//! `io::copy` from a `File` into `AtomicFile::as_file_mut()` takes the
//! kernel's copy path, which on btrfs and xfs is a reflink: the committed file
//! shares the source's extents instead of holding a second copy. Checked on
//! real loop-mounted filesystems with `filefrag` (extents flagged `shared`).

use crate::common;

use std::fs;
use std::io::{self, Seek};
use std::path::{Path, PathBuf};

/// A filesystem image loop-mounted on a scratch directory; unmounted (which
/// detaches the loop device) on drop.
struct LoopMount {
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopMount {
    fn new(fs_type: &str) -> LoopMount {
        let dir = common::scratch();
        let image = dir.path().join("fs.img");
        let mnt = dir.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        // Sparse: costs only what gets written.
        fs::File::create(&image)
            .unwrap()
            .set_len(512 << 20)
            .unwrap();
        let q = common::shell_quote;
        common::sh(&format!("mkfs.{fs_type} -q {} >/dev/null", q(&image)));
        common::sh(&format!("mount -o loop {} {}", q(&image), q(&mnt)));
        LoopMount { mnt, _dir: dir }
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        common::unmount(&self.mnt);
    }
}

/// Whether `filefrag -v` reports every data extent of `path` as shared.
fn all_extents_shared(path: &Path) -> (bool, String) {
    let out = common::sh(&format!("filefrag -v {}", common::shell_quote(path)));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // Extent lines start with an index: "   0:        0..    2047: ...".
    let extents: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_once(':')
                .is_some_and(|(i, _)| i.parse::<u32>().is_ok())
        })
        .collect();
    let shared = !extents.is_empty() && extents.iter().all(|l| l.contains("shared"));
    (shared, text)
}

fn reflinks_on(fs_type: &str) {
    common::require_root();
    common::require(&format!("mkfs.{fs_type}"));
    common::require("filefrag");
    let m = LoopMount::new(fs_type);
    let src_path = m.mnt.join("source");
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    fs::write(&src_path, &data).unwrap();
    fs::File::open(&src_path).unwrap().sync_all().unwrap();

    let target = m.mnt.join("copy");
    let mut src = fs::File::open(&src_path).unwrap();
    let mut file = atomic_write::AtomicFile::create(&target).unwrap();
    let n = io::copy(&mut src, file.as_file_mut()).unwrap();
    assert_eq!(n, data.len() as u64);
    // The cursor is at the end, as after a plain copy: more can be appended.
    assert_eq!(file.as_file_mut().stream_position().unwrap(), n);
    file.commit().unwrap();

    assert_eq!(common::read(&target), data);
    let (shared, report) = all_extents_shared(&target);
    assert!(
        shared,
        "{fs_type}: the copy does not share the source's extents:\n{report}"
    );
}

#[test]
#[ignore = "full suite: root, mkfs, filefrag"]
fn io_copy_into_atomic_file_reflinks_on_btrfs() {
    reflinks_on("btrfs");
}

#[test]
#[ignore = "full suite: root, mkfs, filefrag"]
fn io_copy_into_atomic_file_reflinks_on_xfs() {
    reflinks_on("xfs");
}

/// `--append` on xfs takes the reflink path; a concurrent `>>` append to the
/// target after the clone and before the temp is positioned must not leave a
/// hole of NUL bytes: the temp is positioned at the clone's own end, not at
/// the source's length read later. The CLI runs under `strace`, which holds
/// every `ioctl` (`FICLONE` among them) for 1.5 s after it returns; the test
/// appends to the target while the cloned temp waits.
#[test]
#[ignore = "full suite: root, mkfs.xfs, strace"]
fn append_after_reflink_leaves_no_hole() {
    common::require_root();
    common::require("mkfs.xfs");
    common::require("strace");
    use std::io::Write;
    use std::process::{Command, Stdio};
    let m = LoopMount::new("xfs");
    let target = m.mnt.join("log");
    let old: Vec<u8> = (0..64u32 << 10).map(|i| b'a' + (i % 26) as u8).collect();
    fs::write(&target, &old).unwrap();
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=ioctl"])
        .args(["-e", "inject=ioctl:delay_exit=1500000"])
        .arg(common::bin())
        .arg("-a")
        .arg(&target)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let strace_pid = child.id();
    // The CLI is strace's child; its cloned temp reaches the old size first.
    let cli_pid = || -> Option<u32> {
        let kids =
            fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children")).ok()?;
        kids.split_whitespace().next()?.parse().ok()
    };
    common::wait_until(20, "the cloned temp", || {
        cli_pid().is_some_and(|p| common::temp_size(p, &m.mnt) == Some(old.len() as u64))
    });
    fs::OpenOptions::new()
        .append(true)
        .open(&target)
        .unwrap()
        .write_all(b"CONCURRENT")
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"NEW").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let got = common::read(&target);
    assert!(
        !got.contains(&0),
        "a hole of NUL bytes in the result ({} bytes)",
        got.len()
    );
    assert_eq!(got, [old.as_slice(), b"NEW"].concat());
}

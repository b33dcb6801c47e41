//! A real seccomp filter for tests: a child process (the CLI, or a re-exec of
//! the test binary) runs with chosen system calls answered by a chosen errno,
//! as container runtimes and service managers answer calls their profile does
//! not know. Installed in the child between `fork` and `exec`
//! (`PR_SET_NO_NEW_PRIVS`, then `PR_SET_SECCOMP`): the filter survives the
//! `exec`, and the test process itself is never filtered.
//!
//! Hand-written classic BPF (no dependency): for each rule, "if the call is
//! `nr` (and, optionally, argument `arg` has a bit of `mask` set, or has none
//! of them), return `errno`"; everything else is allowed.
#![allow(dead_code, unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::Command;

/// One denied call.
#[derive(Clone, Copy, Debug)]
pub struct Deny {
    /// The system call number.
    pub nr: i64,
    /// Only when argument `.0` (low 32 bits) has a bit of mask `.1` set
    /// (`.2` true) or none of them (`.2` false).
    pub arg: Option<(u32, u32, bool)>,
    /// The errno it gets.
    pub errno: i32,
}

impl Deny {
    /// Every call of `nr` gets `errno`.
    pub fn call(nr: i64, errno: i32) -> Deny {
        Deny {
            nr,
            arg: None,
            errno,
        }
    }

    /// Calls of `nr` whose argument `arg` has a bit of `mask` get `errno`.
    pub fn with_flag(nr: i64, arg: u32, mask: u32, errno: i32) -> Deny {
        Deny {
            nr,
            arg: Some((arg, mask, true)),
            errno,
        }
    }

    /// Calls of `nr` whose argument `arg` has no bit of `mask` get `errno`.
    pub fn without_flag(nr: i64, arg: u32, mask: u32, errno: i32) -> Deny {
        Deny {
            nr,
            arg: Some((arg, mask, false)),
            errno,
        }
    }
}

/// `listxattrat` and `getxattrat` (Linux 6.13, the common syscall table).
pub const SYS_GETXATTRAT: i64 = 464;
pub const SYS_LISTXATTRAT: i64 = 465;

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
/// `struct seccomp_data`: `nr` at 0, `arch` at 4, `args[6]` (u64) from 16.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;

/// `AUDIT_ARCH_*` of the running target: a filter checks it first, so a call
/// made through another ABI (x32, i386 on x86_64) is not misread.
#[cfg(target_arch = "x86_64")]
const ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const ARCH: u32 = 0xC000_00B7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCH: u32 = 0;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The program for `rules`.
fn program(rules: &[Deny]) -> Vec<libc::sock_filter> {
    let mut p = Vec::new();
    if ARCH != 0 {
        // Another ABI than ours: allowed (the tests make no such calls).
        p.push(ins(LD_W_ABS, 0, 0, OFF_ARCH));
        p.push(ins(JEQ_K, 1, 0, ARCH));
        p.push(ins(RET_K, 0, 0, RET_ALLOW));
    }
    for r in rules {
        p.push(ins(LD_W_ABS, 0, 0, OFF_NR));
        match r.arg {
            None => {
                p.push(ins(JEQ_K, 0, 1, r.nr as u32));
            }
            Some((arg, mask, set)) => {
                // Little-endian: the low half of args[arg].
                let off = 16 + 8 * arg;
                let off = if cfg!(target_endian = "big") {
                    off + 4
                } else {
                    off
                };
                p.push(ins(JEQ_K, 0, 3, r.nr as u32));
                p.push(ins(LD_W_ABS, 0, 0, off));
                // Set: on to the errno; clear: past it (and the reverse).
                if set {
                    p.push(ins(JSET_K, 0, 1, mask));
                } else {
                    p.push(ins(JSET_K, 1, 0, mask));
                }
            }
        }
        p.push(ins(RET_K, 0, 0, RET_ERRNO | (r.errno as u32 & 0xffff)));
    }
    p.push(ins(RET_K, 0, 0, RET_ALLOW));
    p
}

/// Makes `cmd` run under a filter that denies `rules`.
pub fn deny(cmd: &mut Command, rules: &[Deny]) {
    let prog = program(rules);
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes two prctl calls on memory prepared before the fork (no
    // allocation, no lock).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const libc::sock_fprog,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Whether the running kernel has the system call `nr`: `ENOSYS` from a probe
/// with invalid arguments (a bad descriptor) means it has not.
pub fn kernel_has(nr: i64) -> bool {
    // SAFETY: every argument is an invalid descriptor or null: the kernel
    // checks and fails without touching memory.
    let r = unsafe { libc::syscall(nr, -1, 0usize, 0usize, 0usize, 0usize, 0usize) };
    !(r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

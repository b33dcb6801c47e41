//! Whether the caller may write a file, as the kernel decides it for `open`,
//! and the real path of a directory: the portable Unix calls (Linux has its
//! own, in `access_linux.rs`). Syscalls only: each `unsafe` block holds one
//! call and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use super::unix::{cstr, cvt_r};

/// Whether the caller (effective ids and privileges, as `open` checks them)
/// may open `name` in `dir` for writing: `faccessat(W_OK, AT_EACCESS)` by
/// name relative to the open directory. `file`, a descriptor already open on
/// the same file, is not used here (only Linux can ask about a descriptor).
/// `Err` is the kernel's answer (`EACCES`, `EPERM`, `EROFS`, …).
pub(crate) fn may_write(dir: &File, name: &OsStr, _file: Option<&File>) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    cvt_r(|| unsafe { libc::faccessat(dir.as_raw_fd(), c.as_ptr(), libc::W_OK, libc::AT_EACCESS) })
        .map(drop)
}

/// The path of the directory `dir` is open on, as the kernel knows it
/// (symlinks resolved); `None` where the system does not tell (here).
pub(crate) fn dir_real_path(_dir: &File) -> Option<PathBuf> {
    None
}

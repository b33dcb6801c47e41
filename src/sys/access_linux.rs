//! Linux's [`may_write`] (on a descriptor where one is open: `faccessat2`
//! with `AT_EMPTY_PATH`) and [`dir_real_path`] (`/proc/self/fd`). Syscalls
//! only: each `unsafe` block holds one call and says why it is sound.
//!
//! `faccessat2` (Linux 5.8) is called directly, not through libc's
//! `faccessat`, which emulates `AT_EACCESS` from the mode bits alone (no
//! ACL) where the call is missing. A container's seccomp profile older than
//! the call may answer it with `EPERM` rather than `ENOSYS` (old Docker
//! did): `EPERM` is then asked again of the old `faccessat`, which tells an
//! immutable file (`EPERM` again) from the filter.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::unix::{cstr, cvt_r};

/// Whether the caller (effective ids and capabilities, as `open` checks them)
/// may open the file for writing: `faccessat2(fd, "", W_OK, AT_EACCESS |
/// AT_EMPTY_PATH)` on `file` where it is given, else `faccessat2(dir,
/// name, W_OK, AT_EACCESS)`; where `faccessat2` is missing (or filtered),
/// the old `faccessat`, on `/proc/self/fd/N` for `file` (by name without
/// `/proc`), which asks with the real ids (the same unless the process is
/// set-id; then nothing is refused). `Err` is the
/// kernel's answer (`EACCES`, `EPERM` for an immutable file, `EROFS`, …).
pub(crate) fn may_write(dir: &File, name: &OsStr, file: Option<&File>) -> io::Result<()> {
    let name = cstr(name)?;
    let first = match file {
        Some(file) => faccessat2(file.as_raw_fd(), c"", libc::AT_EMPTY_PATH),
        // Not followed: the name was resolved to a regular file, and one
        // swapped for a link since is not asked about in its stead.
        None => faccessat2(dir.as_raw_fd(), &name, libc::AT_SYMLINK_NOFOLLOW),
    };
    match first {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EINVAL | libc::EPERM)
            ) => {}
        r => return r,
    }
    if !same_ids() {
        return Ok(());
    }
    if let Some(file) = file {
        // The very inode, through its magic link; by name without `/proc`.
        let proc = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a number");
        match faccessat(libc::AT_FDCWD, &proc) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
    }
    // The old call follows a link: a name swapped for one since it was
    // resolved is asked about through it. Only someone who may write the
    // directory can swap it, and they could replace the file anyway; the
    // answer is advice (refused as `>` would refuse), not the write.
    faccessat(dir.as_raw_fd(), &name)
}

/// The old `faccessat(at, path, W_OK)`, with the real ids.
fn faccessat(at: libc::c_int, path: &CStr) -> io::Result<()> {
    // SAFETY: `at` is an open fd or AT_FDCWD, `path` a valid C string.
    cvt_r(|| unsafe {
        libc::syscall(libc::SYS_faccessat, at, path.as_ptr(), libc::W_OK) as libc::c_int
    })
    .map(drop)
}

/// `faccessat2(at, path, W_OK, AT_EACCESS | flags)`: `ENOSYS` before Linux 5.8.
fn faccessat2(at: libc::c_int, path: &CStr, flags: libc::c_int) -> io::Result<()> {
    let flags = libc::AT_EACCESS | flags;
    // SAFETY: `at` is an open fd, `path` a valid C string.
    cvt_r(|| unsafe {
        libc::syscall(libc::SYS_faccessat2, at, path.as_ptr(), libc::W_OK, flags) as libc::c_int
    })
    .map(drop)
}

/// Whether the real user and group ids are the effective ones (a process
/// that is not set-id), so that the old `faccessat` answers for the
/// effective ones.
fn same_ids() -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    // SAFETY: getgid has no preconditions and cannot fail.
    let gid = unsafe { libc::getgid() };
    // SAFETY: getegid has no preconditions and cannot fail.
    let egid = unsafe { libc::getegid() };
    uid == euid && gid == egid
}

/// The path of the directory `dir` is open on, as the kernel reports it in
/// `/proc/self/fd` (absolute, symlinks resolved); `None` without `/proc`,
/// or for a directory removed since (" (deleted)") or outside our root.
pub(crate) fn dir_real_path(dir: &File) -> Option<PathBuf> {
    let link = CString::new(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `link` is a valid C string, `buf` writable for `buf.len()` bytes.
    let n = unsafe { libc::readlink(link.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(n).ok().filter(|&n| n < buf.len())?;
    buf.truncate(n);
    if !buf.starts_with(b"/") || buf.ends_with(b" (deleted)") {
        return None;
    }
    Some(PathBuf::from(OsString::from_vec(buf)))
}

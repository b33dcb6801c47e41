//! Linux's [`may_write`] (on a descriptor where one is open: `faccessat2`
//! with `AT_EMPTY_PATH`) and [`dir_real_path`] (`/proc/self/fd`). Syscalls
//! only: each `unsafe` block holds one call and says why it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::unix::cvt_r;

/// Whether the caller (effective ids and capabilities, as `open` checks them)
/// may open the file for writing: `faccessat2(fd, "", W_OK, AT_EACCESS |
/// AT_EMPTY_PATH)` on `file` where it is given (Linux 5.8+), else
/// `faccessat(W_OK, AT_EACCESS)` on `/proc/self/fd/N`, else by `name`
/// relative to the open directory. `Err` is the kernel's answer (`EACCES`,
/// `EPERM` for an immutable file, `EROFS`, …).
pub(crate) fn may_write(dir: &File, name: &OsStr, file: Option<&File>) -> io::Result<()> {
    if let Some(file) = file {
        match faccessat2_empty(file) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {}
            r => return r,
        }
        let proc = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a number");
        match faccessat(libc::AT_FDCWD, &proc) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
    }
    faccessat(dir.as_raw_fd(), &super::unix::cstr(name)?)
}

/// `faccessat2(fd, "", W_OK, AT_EACCESS | AT_EMPTY_PATH)`: `ENOSYS` before
/// Linux 5.8.
fn faccessat2_empty(file: &File) -> io::Result<()> {
    let flags = libc::AT_EACCESS | libc::AT_EMPTY_PATH;
    // SAFETY: `file` is an open fd; the path is a valid, empty C string.
    cvt_r(|| unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            file.as_raw_fd(),
            c"".as_ptr(),
            libc::W_OK,
            flags,
        ) as libc::c_int
    })
    .map(drop)
}

/// `faccessat(at, path, W_OK, AT_EACCESS)`.
fn faccessat(at: libc::c_int, path: &CStr) -> io::Result<()> {
    // SAFETY: `at` is an open fd or AT_FDCWD, `path` a valid C string.
    cvt_r(|| unsafe { libc::faccessat(at, path.as_ptr(), libc::W_OK, libc::AT_EACCESS) }).map(drop)
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

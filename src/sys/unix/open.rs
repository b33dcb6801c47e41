//! Opening a file by its name in a directory, never following a symlink.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

use super::{cstr, cvt_r};

/// Opens `name` in `dir` to lock it, never following a symlink, never
/// blocking (a FIFO), never becoming a controlling terminal.
pub(crate) fn open_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    let c = cstr(name)?;
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens `name` in `dir` for reading without following a symlink there
/// (`O_NOFOLLOW`: a symlink fails with `ELOOP`) and without blocking on a FIFO
/// (`O_NONBLOCK`).
pub(crate) fn open_read_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    let c = cstr(name)?;
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

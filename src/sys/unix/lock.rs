//! `flock` on a temp (the sign of a live writer) and on a target.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::cvt_r;

/// An exclusive `flock` on the temp, held until its descriptor is closed (or
/// the process dies): the sign for [`sweep`](crate::sweep) that a writer is
/// alive. Waits while a sweep holds it (only for the instant of its unlink).
pub(crate) fn lock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }).map(drop)
}

/// Releases [`lock`]: for a committed file handed back to the caller, which
/// is the target now and must not stay locked.
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) }).map(drop)
}

/// `flock(LOCK_EX|LOCK_NB)`: `Ok(false)` if someone else holds a lock.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    match cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `flock(LOCK_SH|LOCK_NB)`: `Ok(false)` if someone holds an exclusive lock.
/// The mark a writer puts on the target's inode while a hidden backup link of
/// it exists (see [`crate::backup`]): a sweep's exclusive lock then fails.
pub(crate) fn try_lock_shared(file: &File) -> io::Result<bool> {
    // SAFETY: `file` is an open fd; flock takes no pointer.
    match cvt_r(|| unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

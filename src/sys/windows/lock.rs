//! The lock on a temp (the sign of a live writer) and on a target: one byte
//! beyond any content (`LockFileEx`), as `flock` on Unix.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::Foundation as w;
use windows_sys::Win32::Storage::FileSystem as fs;

use super::{fstat, unsupported};
use crate::sys::FileKind;

/// The byte locked by [`lock`]: the last a file can have, far beyond any
/// content, so the lock (mandatory on Windows) never blocks a reader or
/// writer of the data.
const LOCK_OFFSET: u64 = u64::MAX - 1;

fn lock_ex(file: &File, flags: u32) -> io::Result<()> {
    lock_range(file, flags | fs::LOCKFILE_EXCLUSIVE_LOCK)
}

fn lock_range(file: &File, flags: u32) -> io::Result<()> {
    // SAFETY: all-zero bytes are a valid OVERLAPPED (no event).
    let mut ov: windows_sys::Win32::System::IO::OVERLAPPED = unsafe { std::mem::zeroed() };
    ov.Anonymous.Anonymous.Offset = LOCK_OFFSET as u32;
    ov.Anonymous.Anonymous.OffsetHigh = (LOCK_OFFSET >> 32) as u32;
    // SAFETY: `file` is an open, synchronous handle; `ov` lives across the
    // call, which completes before returning on a synchronous handle.
    let ok = unsafe { fs::LockFileEx(file.as_raw_handle(), flags, 0, 1, 0, &mut ov) };
    if ok == 0 {
        let e = io::Error::last_os_error();
        if fstat(file).is_ok_and(|m| m.kind == FileKind::Directory) {
            return Err(unsupported("locking a directory"));
        }
        return Err(e);
    }
    Ok(())
}

/// An exclusive lock of one byte beyond any content, held until the handle
/// is closed (or the process dies): the sign for [`sweep`](crate::sweep) that
/// a writer is alive, and the append lock. Waits while another holds it.
/// A directory cannot be locked: `Unsupported`.
pub(crate) fn lock(file: &File) -> io::Result<()> {
    lock_ex(file, 0)
}

/// Releases [`lock`].
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open handle; the range is the one `lock` took.
    let ok = unsafe {
        fs::UnlockFile(
            file.as_raw_handle(),
            LOCK_OFFSET as u32,
            (LOCK_OFFSET >> 32) as u32,
            1,
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// [`lock`] without waiting: `Ok(false)` if someone else holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    match lock_ex(file, fs::LOCKFILE_FAIL_IMMEDIATELY) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(w::ERROR_LOCK_VIOLATION as i32) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A shared lock of the same byte without waiting: `Ok(false)` if someone
/// holds [`lock`]. Many may hold it at once.
pub(crate) fn try_lock_shared(file: &File) -> io::Result<bool> {
    match lock_range(file, fs::LOCKFILE_FAIL_IMMEDIATELY) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(w::ERROR_LOCK_VIOLATION as i32) => Ok(false),
        Err(e) => Err(e),
    }
}

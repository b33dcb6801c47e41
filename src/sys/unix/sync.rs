//! Durability: `fsync` (`F_FULLFSYNC` on Apple systems) of files and
//! directories; the portable path has no `syncfs` and no early writeback.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::cvt_r;

/// Makes a file's data and metadata durable: `fsync`, or `F_FULLFSYNC` on Apple
/// platforms (where `fsync` does not flush the drive's cache).
pub(crate) fn sync_file(file: &File) -> io::Result<()> {
    full_sync(file.as_raw_fd())
}

/// Whether `syncfs` can stand in for an `fsync` of each file on the
/// filesystem of `dir`: the portable path knows no such filesystem.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn syncfs_trusted(_dir: &File, _any_kernel: bool) -> io::Result<bool> {
    Ok(false)
}

/// Never called where [`syncfs_trusted`] is always false.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn sync_fs(_dir: &File) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Starting the writeback ahead of the `fsync`s is a Linux call
/// (`sync_file_range`); here the `fsync`s alone do the work.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn start_writeback(_file: &File) -> io::Result<()> {
    Ok(())
}

/// After [`sync_fs`]: writes what is still dirty of `file` and reports any
/// writeback error since it was opened. Here, where `sync_fs` never syncs, a
/// full [`sync_file`].
#[allow(dead_code)] // Linux has its own.
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    sync_file(file)
}

/// Makes a directory's entries durable; same mechanism as [`sync_file`].
pub(crate) fn sync_dir(dir: &File) -> io::Result<()> {
    full_sync(dir.as_raw_fd())
}

#[cfg(target_vendor = "apple")]
fn full_sync(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fd` is an open file descriptor; F_FULLFSYNC takes no argument.
    match cvt_r(|| unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) }) {
        Ok(_) => Ok(()),
        // Some filesystems (network, FUSE) do not implement F_FULLFSYNC.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::ENOTTY)) => {
            // SAFETY: `fd` is an open file descriptor.
            cvt_r(|| unsafe { libc::fsync(fd) }).map(drop)
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(target_vendor = "apple"))]
fn full_sync(fd: RawFd) -> io::Result<()> {
    // A failed fsync is never retried (the kernel may have dropped the dirty
    // pages, and a retry can falsely succeed) — but EINTR means it never ran.
    // SAFETY: `fd` is an open file descriptor.
    cvt_r(|| unsafe { libc::fsync(fd) }).map(drop)
}

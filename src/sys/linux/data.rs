//! Copying a file's data: a reflink (`FICLONE`) where the filesystem shares
//! blocks, else the portable copy.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::sys::unix;

/// Copies `src` into `dst`: first a reflink (`FICLONE`, shares the blocks on
/// btrfs and xfs), else [`io::copy`], which uses `copy_file_range`.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    // SAFETY: both are open file descriptors; FICLONE takes the source fd as its argument.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if r == 0 {
        // The clone's own end, not the source's length read afterwards: a
        // concurrent append to the source in between would leave a hole of
        // NUL bytes in the result.
        return io::Seek::seek(dst, io::SeekFrom::End(0));
    }
    unix::clone_or_copy(src, dst)
}

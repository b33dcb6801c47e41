//! Copying a file's data: a reflink (`FICLONE`) where the filesystem shares
//! blocks, else the portable copy.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

#[cfg(feature = "cli")]
use super::{unavailable, Missing};
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

/// `preadv2(RWF_NOWAIT)` answered `EOPNOTSUPP` for a file that cannot say
/// "nothing yet" (a terminal, some devices) or `ENOSYS`/`EPERM` (a kernel
/// before 4.14, a sandbox): not asked again in this process.
#[cfg(feature = "cli")]
static NO_READ_NOWAIT: Missing = Missing::new();

/// Reads what `fd` (a pipe, a socket) has now, never waiting for more:
/// `preadv2(…, -1, RWF_NOWAIT)`. `Ok(Some(0))` at the end, `Ok(None)` if it
/// would have to wait, `Err(Unsupported)` where the file or the kernel
/// cannot tell (remembered): then wait with `poll` and `read`.
#[cfg(feature = "cli")]
pub(crate) fn read_nowait(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<Option<usize>> {
    if NO_READ_NOWAIT.get() {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    loop {
        // SAFETY: `fd` is an open descriptor and `iov` describes `buf`,
        // writable for its length; the offset -1 (both halves) means the
        // file's own position, as `read`. The raw syscall: the C library's
        // wrapper is newer than the oldest glibc Rust supports.
        let r = unsafe {
            libc::syscall(
                libc::SYS_preadv2,
                fd.as_raw_fd(),
                &iov as *const libc::iovec,
                1 as libc::c_int,
                -1 as libc::c_long,
                -1 as libc::c_long,
                libc::RWF_NOWAIT,
            )
        };
        if r >= 0 {
            return Ok(Some(r as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) => {
                NO_READ_NOWAIT.set();
                return Err(io::ErrorKind::Unsupported.into());
            }
            _ if unavailable(&e) => {
                NO_READ_NOWAIT.set();
                return Err(io::ErrorKind::Unsupported.into());
            }
            _ => return Err(e),
        }
    }
}

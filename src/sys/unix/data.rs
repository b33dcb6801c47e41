//! A file's data: reading at an offset, copying one file into another.

use std::fs::File;
use std::io;

/// Copies all of `src` into `dst` from their current offsets through
/// [`io::copy`], which uses the kernel's copy path where the OS has one.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    // EINTR: nothing was lost; the file offsets say where to resume.
    let mut total = 0;
    loop {
        match io::copy(src, dst) {
            Ok(n) => return Ok(total + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                total = io::Seek::stream_position(dst)?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `pread`: reads at `offset` without moving the file's cursor.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

/// No read that never waits on the portable path: the caller waits with
/// `poll` and reads (Linux has its own).
#[cfg(feature = "cli")]
#[allow(dead_code)] // Linux has its own.
pub(crate) fn read_nowait(
    _fd: std::os::fd::BorrowedFd<'_>,
    _buf: &mut [u8],
) -> io::Result<Option<usize>> {
    Err(io::ErrorKind::Unsupported.into())
}

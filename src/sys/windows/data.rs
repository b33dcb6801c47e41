//! A file's data: reading at an offset, copying one file into another.

use std::fs::File;
use std::io;
use std::os::windows::fs::FileExt;

/// Copies all of `src` into `dst` from their current positions.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    io::copy(src, dst)
}

/// `pread` in Windows terms (`ReadFile` at an offset; moves the handle's
/// position, which the callers do not rely on).
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

//! Extended attributes, and the file they are read from: none in the Linux
//! sense on Windows.

use std::ffi::OsStr;
use std::fs::File;
use std::io;

use super::{errno, open_read_nofollow_at, unsupported};

/// The source of a replacement's attributes: `name` in `dir` opened for
/// reading without following a symlink (never through `/proc`).
pub(crate) fn open_source_at(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    open_read_nofollow_at(dir, name).map(|f| (f, false))
}

/// No Linux-style extended attributes on Windows (NTFS's EAs and alternate
/// data streams are not kept): a file lists none.
pub(crate) fn list_xattrs_of(_file: &File, _by_proc: bool, _buf: &mut [u8]) -> io::Result<usize> {
    Ok(0)
}

/// Never called where [`list_xattrs_of`] lists nothing.
pub(crate) fn get_xattr_of(
    _file: &File,
    _by_proc: bool,
    _attr: &std::ffi::CStr,
    _buf: &mut [u8],
) -> io::Result<usize> {
    Err(unsupported("reading extended attributes"))
}

/// Never called where [`list_xattrs_of`] lists nothing.
pub(crate) fn set_xattr(_file: &File, _attr: &std::ffi::CStr, _value: &[u8]) -> io::Result<()> {
    Err(unsupported("setting extended attributes"))
}

/// No inherited access ACL in the Linux sense to remove.
pub(crate) fn remove_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(errno::ENOTSUP))
}

/// No attributes where none are read.
pub(crate) fn has_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<bool> {
    Ok(false)
}

//! Extended attributes, and the file they are read from: none on the
//! portable path.

use std::ffi::OsStr;
use std::fs::File;
use std::io;

use super::open_read_nofollow_at;

/// Extended attributes are kept on Linux only so far: elsewhere a target
/// lists none (macOS and the BSDs have other calls, not yet verified).
///
/// The source of a replacement's owner, mode and attributes: `name` in
/// `dir` opened for reading without following a symlink. Linux has its own.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn open_source_at(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    open_read_nofollow_at(dir, name).map(|f| (f, false))
}

/// Nothing listed (see [`open_source_at`]).
#[allow(dead_code)] // Linux has its own.
pub(crate) fn list_xattrs_of(_file: &File, _by_proc: bool, _buf: &mut [u8]) -> io::Result<usize> {
    Ok(0)
}

/// No attributes are listed by name on the portable path: not known here.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn list_xattrs_at(
    _dir: &File,
    _name: &OsStr,
    _buf: &mut [u8],
) -> io::Result<Option<usize>> {
    Ok(None)
}

/// Never called where [`list_xattrs_of`] lists nothing.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn get_xattr_of(
    _file: &File,
    _by_proc: bool,
    _attr: &std::ffi::CStr,
    _buf: &mut [u8],
) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Never called where [`list_xattrs_of`] lists nothing.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn set_xattr(_file: &File, _attr: &std::ffi::CStr, _value: &[u8]) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// No ACL can have been inherited where none are read: nothing to remove.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn remove_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOTSUP))
}

/// No attributes where none are read.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn has_xattr(_file: &File, _attr: &std::ffi::CStr) -> io::Result<bool> {
    Ok(false)
}

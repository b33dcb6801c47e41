//! Windows: no write check before a replacement (the read-only attribute is
//! handled by the rename, see `windows.rs`), and no real directory path.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::PathBuf;

/// Always allowed: a read-only target is replaced as before (see
/// [`Options::force`](crate::Options::force)'s platform notes).
pub(crate) fn may_write(_dir: &File, _name: &OsStr, _file: Option<&File>) -> io::Result<()> {
    Ok(())
}

/// `None`: the path made absolute from the caller's is used.
pub(crate) fn dir_real_path(_dir: &File) -> Option<PathBuf> {
    None
}

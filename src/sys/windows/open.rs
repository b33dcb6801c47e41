//! Opening a file by its name in a directory, never through a symlink, and
//! shared for every use as on Unix.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::OpenOptionsExt;

use windows_sys::Win32::Storage::FileSystem as fs;

use super::path::at;
use super::{errno, fstat};
use crate::sys::FileKind;

/// The share mode of every handle this crate opens: others may read, write,
/// rename and delete, as on Unix.
pub(super) const SHARE_ALL: u32 =
    fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE;

/// Opens `name` in `dir` for reading, never through a symlink (one there
/// fails as `O_NOFOLLOW` does, with [`errno::ELOOP`]), shared for every use.
pub(crate) fn open_read_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .share_mode(SHARE_ALL)
        .custom_flags(fs::FILE_FLAG_OPEN_REPARSE_POINT)
        .open(at(dir, name)?)?;
    match fstat(&f)?.kind {
        FileKind::Regular => Ok(f),
        FileKind::Symlink => Err(io::Error::from_raw_os_error(errno::ELOOP)),
        FileKind::Directory => Err(io::Error::from_raw_os_error(errno::EISDIR)),
        FileKind::Special => Err(io::Error::from_raw_os_error(errno::ENXIO)),
    }
}

/// As [`open_read_nofollow_at`]: to lock the file.
pub(crate) fn open_nofollow_at(dir: &File, name: &OsStr) -> io::Result<File> {
    open_read_nofollow_at(dir, name)
}

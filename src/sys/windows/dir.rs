//! Directories: opening one as a handle (`FILE_FLAG_BACKUP_SEMANTICS`),
//! listing its names, creating one, reading a symlink in one.

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use windows_sys::Win32::Storage::FileSystem as fs;

use super::path::{at, final_path};
use super::{errno, fstat};
use crate::sys::FileKind;

/// Opens a directory (for listing, and as the base of names in it). Not a
/// directory: `NotADirectory`.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let dir = OpenOptions::new()
        .read(true)
        .share_mode(fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE)
        .custom_flags(fs::FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    if fstat(&dir)?.kind != FileKind::Directory {
        return Err(io::Error::from_raw_os_error(errno::ENOTDIR));
    }
    Ok(dir)
}

/// Opens the directory `path`, relative to `base` (or to the working
/// directory when `None`); always readable here.
pub(crate) fn open_dir_rel(base: Option<&File>, path: &Path) -> io::Result<(File, bool)> {
    let full = match base {
        Some(b) if path.is_relative() => final_path(b)?.join(path),
        _ => path.to_path_buf(),
    };
    open_dir(&full).map(|d| (d, true))
}

/// The names in the directory.
pub(crate) fn list_dir(dir: &File, _path: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(final_path(dir)?)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// `CreateDirectoryW`: the new directory gets its parent's inherited ACL;
/// `mode` has no meaning here.
pub(crate) fn mkdir_at(dir: &File, name: &OsStr, _mode: u32) -> io::Result<()> {
    std::fs::create_dir(at(dir, name)?)
}

/// The target of the symlink `name` in `dir`.
pub(crate) fn read_link_at(dir: &File, name: &OsStr) -> io::Result<OsString> {
    std::fs::read_link(at(dir, name)?).map(PathBuf::into_os_string)
}

//! A file's metadata in Unix terms (kind, identity, links, size, mtime), the
//! read-only attribute as the mode, and the owner there is none to give.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use windows_sys::Win32::Storage::FileSystem as fs;

use super::path::at;
use crate::sys::{FileKind, Meta};

/// The reparse tag of a symbolic link (winnt.h).
const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

/// Owners are not ids here: 0, as every [`Meta::uid`].
pub(crate) fn euid() -> u32 {
    0
}

/// Opens `path` without following a final reparse point, for metadata only.
fn open_meta(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .access_mode(fs::FILE_READ_ATTRIBUTES)
        .share_mode(fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE)
        .custom_flags(fs::FILE_FLAG_BACKUP_SEMANTICS | fs::FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// The metadata of `name` in `dir`, a symlink not followed; `Ok(None)` if
/// nothing is there.
pub(crate) fn stat_at(dir: &File, name: &OsStr) -> io::Result<Option<Meta>> {
    match open_meta(&at(dir, name)?) {
        Ok(f) => fstat(&f).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The metadata of an open file or directory.
pub(crate) fn fstat(file: &File) -> io::Result<Meta> {
    let h = file.as_raw_handle();
    // SAFETY: all-zero bytes are a valid BY_HANDLE_FILE_INFORMATION.
    let mut info: fs::BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is an open handle and `info` a valid out-pointer.
    if unsafe { fs::GetFileInformationByHandle(h, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: all-zero bytes are a valid FILE_STANDARD_INFO.
    let mut std_info: fs::FILE_STANDARD_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is an open handle; `std_info` is a valid out-buffer of the size given.
    let ok = unsafe {
        fs::GetFileInformationByHandleEx(
            h,
            fs::FileStandardInfo,
            std::ptr::addr_of_mut!(std_info).cast(),
            size_of::<fs::FILE_STANDARD_INFO>() as u32,
        )
    };
    let pending = ok != 0 && std_info.DeletePending != 0;
    let attrs = info.dwFileAttributes;
    let kind = if attrs & fs::FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        let mut tag = fs::FILE_ATTRIBUTE_TAG_INFO {
            FileAttributes: 0,
            ReparseTag: 0,
        };
        // SAFETY: `h` is an open handle; `tag` is a valid out-buffer of the size given.
        let ok = unsafe {
            fs::GetFileInformationByHandleEx(
                h,
                fs::FileAttributeTagInfo,
                std::ptr::addr_of_mut!(tag).cast(),
                size_of::<fs::FILE_ATTRIBUTE_TAG_INFO>() as u32,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        if tag.ReparseTag == IO_REPARSE_TAG_SYMLINK {
            FileKind::Symlink
        } else if attrs & fs::FILE_ATTRIBUTE_DIRECTORY != 0 {
            // A junction or mount point: a directory to a writer.
            FileKind::Directory
        } else {
            FileKind::Special
        }
    } else if attrs & fs::FILE_ATTRIBUTE_DIRECTORY != 0 {
        FileKind::Directory
    } else {
        FileKind::Regular
    };
    let mtime = u64::from(info.ftLastWriteTime.dwHighDateTime) << 32
        | u64::from(info.ftLastWriteTime.dwLowDateTime);
    Ok(Meta {
        kind,
        mode: if attrs & fs::FILE_ATTRIBUTE_READONLY != 0 {
            0o444
        } else {
            0o666
        },
        uid: 0,
        gid: 0,
        dev: u64::from(info.dwVolumeSerialNumber),
        ino: u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow),
        size: u64::from(info.nFileSizeHigh) << 32 | u64::from(info.nFileSizeLow),
        nlink: if pending {
            0
        } else {
            u64::from(info.nNumberOfLinks)
        },
        mtime: filetime(mtime),
    })
}

/// A `FILETIME` (100 ns since 1601) as a [`SystemTime`].
fn filetime(t: u64) -> SystemTime {
    const EPOCH_DIFF: u64 = 11_644_473_600; // seconds from 1601 to 1970
    let secs = t / 10_000_000;
    let nanos = Duration::from_nanos((t % 10_000_000) * 100);
    if secs >= EPOCH_DIFF {
        UNIX_EPOCH + Duration::from_secs(secs - EPOCH_DIFF) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(EPOCH_DIFF - secs) + nanos
    }
}

/// The read-only attribute: set if `mode` has no write bit, cleared if it has.
pub(crate) fn chmod(file: &File, mode: u32) -> io::Result<()> {
    let mut perms = file.metadata()?.permissions();
    #[allow(clippy::permissions_set_readonly_false)] // Windows: only the attribute.
    perms.set_readonly(mode & 0o222 == 0);
    file.set_permissions(perms)
}

/// Windows owners are security identifiers, not ids: nothing is set. A new
/// file is owned by its writer, with the ACL it inherits from the directory.
pub(crate) fn chown_best_effort(_file: &File, _uid: u32, _gid: u32) -> io::Result<(bool, bool)> {
    Ok((false, false))
}

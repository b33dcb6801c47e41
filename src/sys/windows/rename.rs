//! Names in a directory: the replacement (`FileRenameInfoEx` with POSIX
//! semantics, else `MoveFileExW`, retried while another process has the
//! target open), the no-clobber rename, hard links, removal.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::time::Duration;

use windows_sys::Win32::Foundation as w;
use windows_sys::Win32::Storage::FileSystem as fs;

use super::open::SHARE_ALL;
use super::path::{at, final_path, wide};

/// `FILE_RENAME_INFO.Flags` (ntifs.h; not in windows-sys).
const FILE_RENAME_FLAG_REPLACE_IF_EXISTS: u32 = 0x1;

const FILE_RENAME_FLAG_POSIX_SEMANTICS: u32 = 0x2;

const FILE_RENAME_FLAG_IGNORE_READONLY_ATTRIBUTE: u32 = 0x40;

/// Waits between attempts at a replacement refused because another process
/// has the target (or the temp) open: about 2 s in all, as Git for Windows
/// waits for antivirus scanners and indexers to let go.
pub(super) const RETRY_DELAYS_MS: [u64; 12] = [1, 2, 5, 10, 20, 40, 80, 160, 250, 400, 500, 500];

/// Whether an error from a replacement may go away on its own: another
/// process (a reader without `FILE_SHARE_DELETE`, an antivirus scanner, an
/// indexer, a reader even with it under older systems and Wine) has the
/// target open.
pub(super) fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(|c| c as u32),
        Some(w::ERROR_ACCESS_DENIED | w::ERROR_SHARING_VIOLATION | w::ERROR_LOCK_VIOLATION)
    )
}

/// Whether `path` exists and has the read-only attribute.
fn read_only(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.permissions().readonly())
}

/// Renames `from` to `to` in one step, replacing `to` only if `clobber`.
///
/// First by handle, `FileRenameInfoEx` with POSIX semantics: the name is
/// swapped at once even while others have the old file open (with
/// `FILE_SHARE_DELETE`), and a read-only target is replaced as on Unix.
/// Where that is not available (before Windows 10 1809, FAT volumes, Wine:
/// `ERROR_INVALID_PARAMETER` or `ERROR_NOT_SUPPORTED`), `MoveFileExW` with
/// `MOVEFILE_WRITE_THROUGH` (and `MOVEFILE_REPLACE_EXISTING` if `clobber`).
/// Without `clobber` both fail atomically with `AlreadyExists` if `to` exists.
fn rename_once(from: &Path, to: &Path, clobber: bool) -> io::Result<()> {
    match rename_posix(from, to, clobber) {
        Err(e)
            if matches!(
                e.raw_os_error().map(|c| c as u32),
                Some(
                    w::ERROR_INVALID_PARAMETER
                        | w::ERROR_NOT_SUPPORTED
                        | w::ERROR_INVALID_FUNCTION
                        | w::ERROR_CALL_NOT_IMPLEMENTED
                )
            ) => {}
        r => return r,
    }
    let (f, t) = (wide(from)?, wide(to)?);
    let flags = fs::MOVEFILE_WRITE_THROUGH
        | if clobber {
            fs::MOVEFILE_REPLACE_EXISTING
        } else {
            0
        };
    // SAFETY: `f` and `t` are NUL-terminated UTF-16 strings that outlive the call.
    if unsafe { fs::MoveFileExW(f.as_ptr(), t.as_ptr(), flags) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `SetFileInformationByHandle(FileRenameInfoEx)` on a handle of `from`
/// opened for deletion (and never through a link).
fn rename_posix(from: &Path, to: &Path, clobber: bool) -> io::Result<()> {
    let src = OpenOptions::new()
        .access_mode(fs::DELETE | fs::FILE_READ_ATTRIBUTES | w::GENERIC_WRITE)
        .share_mode(SHARE_ALL)
        .custom_flags(fs::FILE_FLAG_OPEN_REPARSE_POINT | fs::FILE_FLAG_BACKUP_SEMANTICS)
        .open(from)?;
    let name: Vec<u16> = to.as_os_str().encode_wide().collect();
    let name_bytes = name.len() * 2;
    let offset = std::mem::offset_of!(fs::FILE_RENAME_INFO, FileName);
    let size = offset + name_bytes + 2;
    // u64 words: aligned for FILE_RENAME_INFO (whose alignment is 8), zeroed
    // so the name is NUL-terminated.
    let mut buf = vec![0u64; size.div_ceil(8)];
    let info = buf.as_mut_ptr().cast::<fs::FILE_RENAME_INFO>();
    let mut flags = FILE_RENAME_FLAG_POSIX_SEMANTICS;
    if clobber {
        flags |= FILE_RENAME_FLAG_REPLACE_IF_EXISTS | FILE_RENAME_FLAG_IGNORE_READONLY_ATTRIBUTE;
    }
    let header = fs::FILE_RENAME_INFO {
        Anonymous: fs::FILE_RENAME_INFO_0 { Flags: flags },
        RootDirectory: std::ptr::null_mut(),
        FileNameLength: u32::try_from(name_bytes)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        FileName: [0],
    };
    // SAFETY: `buf` is at least `size` bytes, 8-aligned, so `info` is valid
    // for a FILE_RENAME_INFO write.
    unsafe { info.write(header) };
    // SAFETY: the name fits: `buf` holds `offset + name_bytes + 2` bytes, and
    // `FileName` starts at `offset`; the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            name.as_ptr(),
            std::ptr::addr_of_mut!((*info).FileName).cast::<u16>(),
            name.len(),
        )
    };
    // SAFETY: `src` is an open handle with DELETE access; `info` points to a
    // FILE_RENAME_INFO of `size` bytes.
    let ok = unsafe {
        fs::SetFileInformationByHandle(
            src.as_raw_handle(),
            fs::FileRenameInfoEx,
            info.cast(),
            size as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// [`rename_once`], retried with a growing pause (about 2 s in all) while it
/// fails because another process has the target open; then the last error.
/// A read-only target that the fallback cannot replace fails at once. Either
/// way the target keeps its old content.
fn rename_retrying(dir: &File, from: &OsStr, to: &OsStr, clobber: bool) -> io::Result<()> {
    let base = final_path(dir)?;
    let (from, to) = (base.join(from), base.join(to));
    let mut delays = RETRY_DELAYS_MS.iter();
    loop {
        match rename_once(&from, &to, clobber) {
            Err(e) if transient(&e) && !read_only(&to) => match delays.next() {
                Some(&ms) => std::thread::sleep(Duration::from_millis(ms)),
                None => return Err(e),
            },
            r => return r,
        }
    }
}

/// Atomically replaces `to` by `from` (see [`rename_once`] and
/// [`rename_retrying`]). Windows has no directory sync: on the fallback the
/// rename is written through (`MOVEFILE_WRITE_THROUGH`); with POSIX
/// semantics it is in NTFS's journal.
pub(crate) fn rename(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    rename_retrying(dir, from, to, true)
}

/// `CreateHardLinkW`: fails with `AlreadyExists` if `to` exists.
pub(crate) fn link(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let base = final_path(dir)?;
    std::fs::hard_link(base.join(from), base.join(to))
}

/// Moves `from` to `to` only if `to` does not exist, in one step (a rename
/// without the replace flag: the check and the rename are one call).
/// Never leaves a second link: `Ok(None)` or `Err`.
pub(crate) fn rename_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
) -> io::Result<Option<io::Error>> {
    rename_retrying(dir, from, to, false).map(|()| None)
}

/// Removes `name` from `dir`; a read-only file loses the attribute first
/// (`DeleteFileW` refuses it, `unlink` on Unix does not).
pub(crate) fn unlink(dir: &File, name: &OsStr) -> io::Result<()> {
    let path = at(dir, name)?;
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && read_only(&path) => {
            let mut perms = std::fs::symlink_metadata(&path)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)] // Windows: only the attribute.
            perms.set_readonly(false);
            std::fs::set_permissions(&path, perms)?;
            std::fs::remove_file(&path)
        }
        r => r,
    }
}

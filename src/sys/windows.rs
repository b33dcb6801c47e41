//! The Windows backend: the same functions as [`unix`](../unix/index.html), in
//! Win32 terms.
//!
//! - Directories are opened as handles (`FILE_FLAG_BACKUP_SEMANTICS`); a name
//!   "in" a directory is that handle's final path (`GetFinalPathNameByHandleW`)
//!   joined with the name, so a directory renamed meanwhile is still the one
//!   meant.
//! - The temp is always named (`.NAME.atomic-write-<16 hex>.tmp`, as on Unix),
//!   created with `CREATE_NEW` (exclusive, never through a link) and shared for
//!   reading, writing and deletion, so it can be renamed and removed while
//!   open. It holds a byte-range lock beyond any content (`LockFileEx`) while
//!   its writer lives: what [`sweep`](crate::sweep) checks, as `flock` on Unix.
//! - Syncs are `FlushFileBuffers`. A directory cannot be flushed: the rename
//!   is written through instead (`MOVEFILE_WRITE_THROUGH`), see [`rename`].
//! - Replacement is `SetFileInformationByHandle(FileRenameInfoEx)` with POSIX
//!   semantics (Windows 10 1809+, NTFS), else `MoveFileExW`; a target held open
//!   by another process is retried with a bounded backoff.
//! - There is no owner to give, no mode but the read-only attribute, no
//!   extended attributes in the Linux sense, and no `syncfs`.
//!
//! Error codes are Win32 codes (`GetLastError`), which is what
//! [`io::Error::raw_os_error`] holds on Windows; [`errno`] names the ones the
//! portable code makes or matches, with the `io::ErrorKind`s the Unix ones have.
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};

use super::{FileKind, Meta, Temp};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use windows_sys::Win32::Foundation as w;
use windows_sys::Win32::Storage::FileSystem as fs;

/// The Win32 error codes the portable code makes or matches, under the Unix
/// names it uses; each has the `io::ErrorKind` of its Unix namesake where std
/// maps one.
#[allow(dead_code)] // Not every name is used by every build.
pub(crate) mod errno {
    use windows_sys::Win32::Foundation as w;
    /// `NotFound`. (`ERROR_PATH_NOT_FOUND` is `NotFound` too: match kinds.)
    pub(crate) const ENOENT: i32 = w::ERROR_FILE_NOT_FOUND as i32;
    /// `AlreadyExists` (what `CREATE_NEW` answers; `MoveFileExW` answers
    /// `ERROR_ALREADY_EXISTS`, of the same kind).
    pub(crate) const EEXIST: i32 = w::ERROR_FILE_EXISTS as i32;
    /// `PermissionDenied`.
    pub(crate) const EACCES: i32 = w::ERROR_ACCESS_DENIED as i32;
    /// `PermissionDenied` too, but a privilege rather than an access right.
    pub(crate) const EPERM: i32 = w::ERROR_PRIVILEGE_NOT_HELD as i32;
    /// `IsADirectory`.
    pub(crate) const EISDIR: i32 = w::ERROR_DIRECTORY_NOT_SUPPORTED as i32;
    /// `NotADirectory`.
    pub(crate) const ENOTDIR: i32 = w::ERROR_DIRECTORY as i32;
    /// `FilesystemLoop`: a symlink where none may be followed, or too many.
    pub(crate) const ELOOP: i32 = w::ERROR_CANT_RESOLVE_FILENAME as i32;
    /// Opening something that is not a file (a device).
    pub(crate) const ENXIO: i32 = w::ERROR_BAD_DEVICE as i32;
    /// Another process holds the file in a way that excludes us, for now.
    pub(crate) const EAGAIN: i32 = w::ERROR_SHARING_VIOLATION as i32;
    /// `Unsupported`.
    pub(crate) const ENOTSUP: i32 = w::ERROR_NOT_SUPPORTED as i32;
    pub(crate) const EOPNOTSUPP: i32 = w::ERROR_NOT_SUPPORTED as i32;
    /// `Unsupported` (a call the system or filesystem does not implement).
    pub(crate) const ENOSYS: i32 = w::ERROR_CALL_NOT_IMPLEMENTED as i32;
    /// `TooManyLinks`.
    pub(crate) const EMLINK: i32 = w::ERROR_TOO_MANY_LINKS as i32;
    /// No such attribute (Windows has none of that kind).
    pub(crate) const ENODATA: i32 = w::ERROR_NOT_FOUND as i32;
    /// A list too long to hand out.
    pub(crate) const E2BIG: i32 = w::ERROR_BUFFER_OVERFLOW as i32;
    /// A buffer too small.
    pub(crate) const ERANGE: i32 = w::ERROR_INSUFFICIENT_BUFFER as i32;
    /// `InvalidInput`.
    pub(crate) const EINVAL: i32 = w::ERROR_INVALID_PARAMETER as i32;
    /// `StorageFull`.
    pub(crate) const ENOSPC: i32 = w::ERROR_DISK_FULL as i32;
    /// `QuotaExceeded`.
    pub(crate) const EDQUOT: i32 = w::ERROR_DISK_QUOTA_EXCEEDED as i32;
    /// `FileTooLarge`.
    pub(crate) const EFBIG: i32 = w::ERROR_FILE_TOO_LARGE as i32;
    /// `ReadOnlyFilesystem`.
    pub(crate) const EROFS: i32 = w::ERROR_WRITE_PROTECT as i32;
    /// `WouldBlock` (a lock held by another, with no time left to wait).
    pub(crate) const EWOULDBLOCK: i32 = 10035; // WSAEWOULDBLOCK, the code std maps to it
    /// A handle that cannot serve the call.
    pub(crate) const EBADF: i32 = w::ERROR_INVALID_HANDLE as i32;
    /// `ResourceBusy`.
    pub(crate) const EBUSY: i32 = w::ERROR_BUSY as i32;
}

/// Marker that makes our temp names recognisable: `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp`.
const MARKER: &str = ".atomic-write-";
const SUFFIX: &str = ".tmp";
const RAND_HEX: usize = 16;
/// The longest name NTFS, exFAT and ReFS take, in UTF-16 code units.
const NAME_MAX: usize = 255;

/// `FILE_RENAME_INFO.Flags` (ntifs.h; not in windows-sys).
const FILE_RENAME_FLAG_REPLACE_IF_EXISTS: u32 = 0x1;
const FILE_RENAME_FLAG_POSIX_SEMANTICS: u32 = 0x2;
const FILE_RENAME_FLAG_IGNORE_READONLY_ATTRIBUTE: u32 = 0x40;
/// The reparse tag of a symbolic link (winnt.h).
const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

/// Waits between attempts at a replacement refused because another process
/// has the target (or the temp) open: about 2 s in all, as Git for Windows
/// waits for antivirus scanners and indexers to let go.
const RETRY_DELAYS_MS: [u64; 12] = [1, 2, 5, 10, 20, 40, 80, 160, 250, 400, 500, 500];

/// A kernel link protection (Linux only): never on here.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Protection {
    Symlinks,
    Regular,
}

/// Never on: Windows has no such settings.
pub(crate) fn protection(_which: Protection) -> u32 {
    0
}

/// Owners are not ids here: 0, as every [`Meta::uid`].
pub(crate) fn euid() -> u32 {
    0
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported on Windows"),
    )
}

/// A NUL-terminated UTF-16 copy of `path`; a NUL inside is `InvalidInput`.
fn wide(path: &Path) -> io::Result<Vec<u16>> {
    let mut w: Vec<u16> = path.as_os_str().encode_wide().collect();
    if w.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "file name contains a NUL character",
        ));
    }
    w.push(0);
    Ok(w)
}

/// The final path of an open file or directory (`\\?\C:\…`).
fn final_path(file: &File) -> io::Result<PathBuf> {
    let h = file.as_raw_handle();
    let mut buf: Vec<u16> = vec![0; 512];
    loop {
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: `h` is an open handle; `buf` has room for `cap` UTF-16 units.
        let n = unsafe {
            fs::GetFinalPathNameByHandleW(
                h,
                buf.as_mut_ptr(),
                cap,
                fs::FILE_NAME_NORMALIZED | fs::VOLUME_NAME_DOS,
            )
        };
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(PathBuf::from(OsString::from_wide(&buf)));
        }
        // Too small: `n` is the size needed, with the NUL.
        buf.resize(n + 1, 0);
    }
}

/// `name` inside the directory `dir`.
fn at(dir: &File, name: &OsStr) -> io::Result<PathBuf> {
    Ok(final_path(dir)?.join(name))
}

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

/// The target of the symlink `name` in `dir`.
pub(crate) fn read_link_at(dir: &File, name: &OsStr) -> io::Result<OsString> {
    std::fs::read_link(at(dir, name)?).map(PathBuf::into_os_string)
}

/// A fresh temp name for `target`: `.TARGET.atomic-write-<16 hex>.tmp`, the
/// target part cut short (never inside a surrogate pair) so the whole stays
/// within 255 UTF-16 units.
pub(crate) fn temp_name(target: &OsStr) -> io::Result<OsString> {
    let rand = random_u64()?;
    let budget = NAME_MAX - 1 - MARKER.len() - RAND_HEX - SUFFIX.len();
    let t: Vec<u16> = target.encode_wide().collect();
    let mut cut = t.len().min(budget);
    // Not between the halves of a surrogate pair.
    if cut > 0 && cut < t.len() && (0xDC00..0xE000).contains(&t[cut]) {
        cut -= 1;
    }
    let mut name: Vec<u16> = Vec::with_capacity(NAME_MAX);
    name.push(u16::from(b'.'));
    name.extend_from_slice(&t[..cut]);
    let tail = format!("{MARKER}{rand:016x}{SUFFIX}");
    name.extend(tail.encode_utf16());
    Ok(OsString::from_wide(&name))
}

/// Whether `name` has the shape of a name made by [`temp_name`].
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let w: Vec<u16> = name.encode_wide().collect();
    let tail = MARKER.len() + RAND_HEX + SUFFIX.len();
    if w.len() < 1 + tail || w[0] != u16::from(b'.') {
        return false;
    }
    let Ok(rest) = String::from_utf16(&w[w.len() - tail..]) else {
        return false;
    };
    rest.starts_with(MARKER)
        && rest.ends_with(SUFFIX)
        && rest[MARKER.len()..MARKER.len() + RAND_HEX]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// 64 unpredictable bits: a hash of a secret seed read once from the OS's
/// random source and a process-wide counter (as on Unix).
fn random_u64() -> io::Result<u64> {
    use std::hash::Hasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = match SEED.get() {
        Some(seed) => seed,
        None => {
            let mut seed = [0u8; 16];
            fill_random(&mut seed)?;
            SEED.get_or_init(|| seed)
        }
    };
    let mut h = std::hash::DefaultHasher::new();
    h.write(seed);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    Ok(h.finish())
}

/// Fills `buf` from the system's preferred random generator (`BCryptGenRandom`).
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    use windows_sys::Win32::Security::Cryptography as c;
    for chunk in buf.chunks_mut(u32::MAX as usize) {
        // SAFETY: `chunk` is a valid buffer of the length given; a null
        // algorithm handle is what BCRYPT_USE_SYSTEM_PREFERRED_RNG requires.
        let status = unsafe {
            c::BCryptGenRandom(
                std::ptr::null_mut(),
                chunk.as_mut_ptr(),
                chunk.len() as u32,
                c::BCRYPT_USE_SYSTEM_PREFERRED_RNG,
            )
        };
        if status < 0 {
            return Err(io::Error::other(format!(
                "BCryptGenRandom failed: NTSTATUS {status:#x}"
            )));
        }
    }
    Ok(())
}

/// The share mode of every handle this crate opens: others may read, write,
/// rename and delete, as on Unix.
const SHARE_ALL: u32 = fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE;

/// Creates a named temp file in `dir` with `CREATE_NEW` (fails on anything
/// there, a dangling symlink included), open for reading, writing and
/// renaming, and locks it ([`lock`]) for as long as it is open. `mode`: only
/// its write bits count, at commit ([`chmod`]); a new file gets the
/// directory's inherited ACL.
pub(crate) fn create_named_temp(dir: &File, target: &OsStr, _mode: u32) -> io::Result<Temp> {
    let base = final_path(dir)?;
    let mut tries = 0;
    loop {
        let name = temp_name(target)?;
        let r = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .access_mode(w::GENERIC_READ | w::GENERIC_WRITE | fs::DELETE)
            .share_mode(SHARE_ALL)
            .open(base.join(&name));
        match r {
            Ok(file) => {
                let unlinked = match lock(&file).and_then(|()| fstat(&file)) {
                    Ok(m) => m.nlink == 0,
                    Err(e) => {
                        drop(file);
                        let _ = unlink(dir, &name);
                        return Err(e);
                    }
                };
                if unlinked && tries < 16 {
                    tries += 1;
                    continue;
                }
                return Ok(Temp {
                    file,
                    name: Some(name),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Always a named temp here.
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    _owner_only: bool,
    _force_named: bool,
) -> io::Result<Temp> {
    create_named_temp(dir, target, mode)
}

/// No unnamed temps here, so there is never one to link.
pub(crate) fn link_unnamed(_file: &File, _dir: &File, _name: &OsStr) -> io::Result<()> {
    Err(unsupported("linking an unnamed temporary file"))
}

/// The byte locked by [`lock`]: the last a file can have, far beyond any
/// content, so the lock (mandatory on Windows) never blocks a reader or
/// writer of the data.
const LOCK_OFFSET: u64 = u64::MAX - 1;

fn lock_ex(file: &File, flags: u32) -> io::Result<()> {
    lock_range(file, flags | fs::LOCKFILE_EXCLUSIVE_LOCK)
}

fn lock_range(file: &File, flags: u32) -> io::Result<()> {
    // SAFETY: all-zero bytes are a valid OVERLAPPED (no event).
    let mut ov: windows_sys::Win32::System::IO::OVERLAPPED = unsafe { std::mem::zeroed() };
    ov.Anonymous.Anonymous.Offset = LOCK_OFFSET as u32;
    ov.Anonymous.Anonymous.OffsetHigh = (LOCK_OFFSET >> 32) as u32;
    // SAFETY: `file` is an open, synchronous handle; `ov` lives across the
    // call, which completes before returning on a synchronous handle.
    let ok = unsafe { fs::LockFileEx(file.as_raw_handle(), flags, 0, 1, 0, &mut ov) };
    if ok == 0 {
        let e = io::Error::last_os_error();
        if fstat(file).is_ok_and(|m| m.kind == FileKind::Directory) {
            return Err(unsupported("locking a directory"));
        }
        return Err(e);
    }
    Ok(())
}

/// An exclusive lock of one byte beyond any content, held until the handle
/// is closed (or the process dies): the sign for [`sweep`](crate::sweep) that
/// a writer is alive, and the append lock. Waits while another holds it.
/// A directory cannot be locked: `Unsupported`.
pub(crate) fn lock(file: &File) -> io::Result<()> {
    lock_ex(file, 0)
}

/// Releases [`lock`].
pub(crate) fn unlock(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open handle; the range is the one `lock` took.
    let ok = unsafe {
        fs::UnlockFile(
            file.as_raw_handle(),
            LOCK_OFFSET as u32,
            (LOCK_OFFSET >> 32) as u32,
            1,
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// [`lock`] without waiting: `Ok(false)` if someone else holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    match lock_ex(file, fs::LOCKFILE_FAIL_IMMEDIATELY) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(w::ERROR_LOCK_VIOLATION as i32) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A shared lock of the same byte without waiting: `Ok(false)` if someone
/// holds [`lock`]. Many may hold it at once.
pub(crate) fn try_lock_shared(file: &File) -> io::Result<bool> {
    match lock_range(file, fs::LOCKFILE_FAIL_IMMEDIATELY) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(w::ERROR_LOCK_VIOLATION as i32) => Ok(false),
        Err(e) => Err(e),
    }
}

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

/// The names in the directory.
pub(crate) fn list_dir(dir: &File, _path: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(final_path(dir)?)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// Whether an error from a replacement may go away on its own: another
/// process (a reader without `FILE_SHARE_DELETE`, an antivirus scanner, an
/// indexer, a reader even with it under older systems and Wine) has the
/// target open.
fn transient(e: &io::Error) -> bool {
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

/// `CreateDirectoryW`: the new directory gets its parent's inherited ACL;
/// `mode` has no meaning here.
pub(crate) fn mkdir_at(dir: &File, name: &OsStr, _mode: u32) -> io::Result<()> {
    std::fs::create_dir(at(dir, name)?)
}

/// Copies all of `src` into `dst` from their current positions.
pub(crate) fn clone_or_copy(src: &mut File, dst: &mut File) -> io::Result<u64> {
    io::copy(src, dst)
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

/// `FlushFileBuffers`: data and metadata to the drive.
pub(crate) fn sync_file(file: &File) -> io::Result<()> {
    file.sync_all()
}

/// Windows cannot flush a directory (`FlushFileBuffers` needs a handle open
/// for writing, which a directory does not give): the rename itself is
/// written through instead (see [`rename`]).
pub(crate) fn sync_dir(_dir: &File) -> io::Result<()> {
    Ok(())
}

/// No `syncfs` here.
pub(crate) fn syncfs_trusted(_dir: &File, _any_kernel: bool) -> io::Result<bool> {
    Ok(false)
}

/// Never called where [`syncfs_trusted`] is always false.
pub(crate) fn sync_fs(_file: &File) -> io::Result<()> {
    Err(unsupported("syncing a whole volume"))
}

/// The flushes alone do the work here.
pub(crate) fn start_writeback(_file: &File) -> io::Result<()> {
    Ok(())
}

/// A full [`sync_file`] (there is no [`sync_fs`] to rely on).
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    sync_file(file)
}

/// `pread` in Windows terms (`ReadFile` at an offset; moves the handle's
/// position, which the callers do not rely on).
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

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

/// Whether `e` says a call is not there (`ERROR_CALL_NOT_IMPLEMENTED`); none
/// of the calls that ask is made here.
pub(crate) fn unavailable(e: &io::Error) -> bool {
    e.raw_os_error() == Some(errno::ENOSYS)
}

/// No `fork` on Windows: always 0.
pub(crate) fn fork_count() -> u64 {
    0
}

/// No `fork` on Windows: always 0.
pub(crate) fn fork_generation() -> u64 {
    0
}

/// No unnamed temps here: never asked.
pub(crate) fn unlinkable(_e: &io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::{self, Write};
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use crate::{AtomicFile, Options};

    fn left(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| super::is_temp_name(n.as_ref()))
            .collect()
    }

    /// A reader that opened the target with std's default sharing (which
    /// includes `FILE_SHARE_DELETE`) and closes it 300 ms later: the
    /// replacement goes through, at once (POSIX semantics) or after retrying
    /// (the `MoveFileExW` fallback answers `ERROR_ACCESS_DENIED` meanwhile).
    #[test]
    fn replacement_over_an_open_reader_succeeds_once_it_lets_go() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, "old").unwrap();
        let reader = fs::File::open(&p).unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(reader);
        });
        crate::write_bytes(&p, b"new").unwrap();
        closer.join().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert!(left(d.path()).is_empty());
    }

    /// A reader that does not share deletion and stays: the replacement is
    /// retried for a bounded time, then fails; the old content stays and no
    /// temp is left.
    #[test]
    fn replacement_over_a_reader_that_stays_fails_cleanly_in_bounded_time() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, "old").unwrap();
        let reader = fs::OpenOptions::new()
            .read(true)
            .share_mode(fs_share_read())
            .open(&p)
            .unwrap();
        let start = Instant::now();
        let err = crate::write_bytes(&p, b"new").unwrap_err();
        let took = start.elapsed();
        let total: u64 = super::RETRY_DELAYS_MS.iter().sum();
        assert!(
            took >= Duration::from_millis(total),
            "gave up after {took:?}"
        );
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert!(super::transient(&io::Error::from_raw_os_error(
            crate::os_error(&err).unwrap()
        )));
        assert!(err.to_string().contains("failed to rename"), "{err}");
        drop(reader);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(left(d.path()).is_empty(), "{:?}", left(d.path()));
    }

    fn fs_share_read() -> u32 {
        super::fs::FILE_SHARE_READ
    }

    #[test]
    fn no_clobber_fails_with_already_exists_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let mut f = Options::new().no_clobber(true).create(&p).unwrap();
        f.write_all(b"mine").unwrap();
        fs::write(&p, "theirs").unwrap();
        let err = f.commit().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"theirs");
        assert!(left(d.path()).is_empty());
    }

    #[test]
    fn a_directory_target_is_is_a_directory_with_the_win32_code() {
        let d = tempfile::tempdir().unwrap();
        let err = AtomicFile::create(d.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
        let sub = d.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let err = crate::write_bytes(&sub, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
        assert_eq!(crate::os_error(&err), Some(super::errno::EISDIR));
    }

    #[test]
    fn a_missing_parent_is_not_found_with_the_win32_code() {
        let d = tempfile::tempdir().unwrap();
        let err = crate::write_bytes(d.path().join("no").join("f"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let code = crate::os_error(&err).unwrap() as u32;
        assert!(
            code == super::w::ERROR_FILE_NOT_FOUND || code == super::w::ERROR_PATH_NOT_FOUND,
            "{err}"
        );
    }

    /// A read-only target is replaced as on Unix where POSIX renames exist
    /// (the attribute kept), or refused at once with the old content kept.
    #[test]
    fn a_read_only_target_is_replaced_keeping_the_attribute_or_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ro");
        fs::write(&p, "old").unwrap();
        let mut perms = fs::metadata(&p).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&p, perms).unwrap();
        let start = Instant::now();
        match crate::write_bytes(&p, b"new") {
            Ok(()) => {
                assert_eq!(fs::read(&p).unwrap(), b"new");
                assert!(fs::metadata(&p).unwrap().permissions().readonly());
            }
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
                assert!(
                    start.elapsed() < Duration::from_millis(500),
                    "retried a read-only target"
                );
                assert_eq!(fs::read(&p).unwrap(), b"old");
            }
        }
        assert!(left(d.path()).is_empty());
    }

    #[test]
    fn the_temp_of_a_live_writer_cannot_be_locked_by_another_handle() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let f = AtomicFile::create(&p).unwrap();
        let tmp = left(d.path()).pop().expect("a named temp");
        let dir = super::open_dir(d.path()).unwrap();
        let other = super::open_nofollow_at(&dir, tmp.as_ref()).unwrap();
        assert!(!super::try_lock(&other).unwrap());
        drop(f);
        // Our second handle kept the removed temp's name until it closes.
        drop(other);
        assert!(left(d.path()).is_empty());
    }

    #[test]
    fn fstat_tells_files_apart_and_counts_links() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), "a").unwrap();
        fs::write(d.path().join("b"), "bb").unwrap();
        let dir = super::open_dir(d.path()).unwrap();
        let a = super::stat_at(&dir, "a".as_ref()).unwrap().unwrap();
        let b = super::stat_at(&dir, "b".as_ref()).unwrap().unwrap();
        assert_eq!((a.kind, a.size, a.nlink), (super::FileKind::Regular, 1, 1));
        assert_ne!((a.dev, a.ino), (b.dev, b.ino));
        super::link(&dir, "a".as_ref(), "a2".as_ref()).unwrap();
        let a2 = super::stat_at(&dir, "a2".as_ref()).unwrap().unwrap();
        assert_eq!((a2.dev, a2.ino, a2.nlink), (a.dev, a.ino, 2));
        assert!(super::stat_at(&dir, "none".as_ref()).unwrap().is_none());
        let err = super::link(&dir, "a".as_ref(), "b".as_ref()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn open_dir_of_a_file_is_not_a_directory() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("f"), "x").unwrap();
        let err = super::open_dir(&d.path().join("f")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
    }

    #[test]
    fn unlink_removes_a_read_only_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ro");
        fs::write(&p, "x").unwrap();
        let mut perms = fs::metadata(&p).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&p, perms).unwrap();
        let dir = super::open_dir(d.path()).unwrap();
        super::unlink(&dir, "ro".as_ref()).unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn append_creates_a_missing_target_and_appends_to_an_existing_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        let mut f = Options::new().append(true).create(&p).unwrap();
        f.write_all(b"1\n").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"1\n");
        let mut f = Options::new().append(true).create(&p).unwrap();
        f.write_all(b"2\n").unwrap();
        // The append holds the target open (locked) until the rename: with
        // POSIX renames it goes through; the MoveFileExW fallback (Wine,
        // before Windows 10 1809, FAT) cannot replace an open file, so the
        // append fails after the retries, the old content in place.
        match f.commit() {
            Ok(()) => assert_eq!(fs::read(&p).unwrap(), b"1\n2\n"),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
                assert_eq!(fs::read(&p).unwrap(), b"1\n");
            }
        }
        assert!(left(d.path()).is_empty());
    }
}

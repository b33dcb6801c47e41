//! The Win32 error codes the portable code makes or matches, under the Unix
//! names it uses; each has the `io::ErrorKind` of its Unix namesake where std
//! maps one.
#![allow(dead_code)] // Not every name is used by every build.

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

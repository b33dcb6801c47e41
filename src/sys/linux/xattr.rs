//! Extended attributes, and the one file a replacement's owner, mode and
//! attributes are read from (`O_PATH`, read through `/proc/self/fd`).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

use super::{unavailable, Missing};
use crate::sys::unix::{cstr, cvt_r};

/// Opens `name` in `dir` as the one source of a replacement's owner, mode and
/// extended attributes, so that all of them come from one inode (a lookup
/// per attribute by name would let a directory writer swap the file between
/// them): `O_PATH|O_NOFOLLOW` (a symlink there opens as itself), needing no
/// permission on the file and never opening a device. Its attributes are read
/// through `/proc/self/fd` (the `bool`, `true` here, is `by_proc` below);
/// where that is missing, the caller reopens the file for reading (see
/// [`crate::attrs::Xattrs::read`]).
pub(crate) fn open_source_at(dir: &File, name: &OsStr) -> io::Result<(File, bool)> {
    let c = cstr(name)?;
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok((unsafe { File::from_raw_fd(fd) }, true))
}

/// `/proc/self/fd/N` of `file`, for the `*xattr` calls that follow it to the
/// very inode `file` is open on (an `O_PATH` descriptor, which the `f*xattr`
/// calls refuse with `EBADF`).
fn fd_path(file: &File) -> CString {
    CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).expect("no NUL in a number")
}

/// Retries a syscall returning `ssize_t` while it fails with `EINTR`.
fn cvt_size(mut f: impl FnMut() -> libc::c_long) -> io::Result<usize> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r as usize);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// The names of the extended attributes of the file `file` is open on,
/// NUL-separated, into `buf`; `ERANGE` if `buf` is too small, with an empty
/// `buf` the size needed, `E2BIG` if the list is longer than the kernel hands
/// out (64 KiB). `by_proc`: `file` is an `O_PATH` descriptor (see
/// [`open_source_at`]), reached through `/proc/self/fd`; else `flistxattr`.
pub(crate) fn list_xattrs_of(file: &File, by_proc: bool, buf: &mut [u8]) -> io::Result<usize> {
    if !by_proc {
        // SAFETY: `file` is an open fd; `buf` is writable for `buf.len()` bytes.
        return cvt_size(|| unsafe {
            libc::flistxattr(file.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
        } as _);
    }
    let p = fd_path(file);
    // SAFETY: `p` is a valid C string; `buf` is writable for `buf.len()` bytes.
    cvt_size(|| unsafe { libc::listxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) } as _)
}

/// `listxattrat` (Linux 6.13): the same number on every architecture that
/// takes new calls from the common syscall table; `None` elsewhere.
const SYS_LISTXATTRAT: Option<libc::c_long> = if cfg!(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "powerpc64",
    target_arch = "s390x"
)) {
    Some(465)
} else {
    None
};

/// `listxattrat` said `ENOSYS` (a kernel before 6.13) or `EPERM` (a sandbox
/// that does not know it): not asked again.
static NO_LISTXATTRAT: Missing = Missing::new();

/// The names of the extended attributes of `name` in `dir` looked up by
/// name (a symlink there is not followed), as [`list_xattrs_of`] gives them:
/// `listxattrat(dir, name, AT_SYMLINK_NOFOLLOW)`, one lookup and no walk
/// through `/proc`. `Ok(None)` where the call is not there (see
/// [`unavailable`]; remembered). Only for a directory where nobody but root
/// and the caller can swap `name` for another file (see
/// [`crate::attrs::none_by_name`]).
pub(crate) fn list_xattrs_at(
    dir: &File,
    name: &OsStr,
    buf: &mut [u8],
) -> io::Result<Option<usize>> {
    let Some(nr) = SYS_LISTXATTRAT.filter(|_| !NO_LISTXATTRAT.get()) else {
        return Ok(None);
    };
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd, `c` a valid C string, and `buf` is
    // writable for `buf.len()` bytes.
    let r = cvt_size(|| unsafe {
        libc::syscall(
            nr,
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
            buf.as_mut_ptr(),
            buf.len(),
        )
    });
    match r {
        Ok(n) => Ok(Some(n)),
        Err(e) if unavailable(&e) => {
            NO_LISTXATTRAT.set();
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The value of the extended attribute `attr` of the file `file` is open on
/// into `buf`; `ERANGE` if `buf` is too small, and with an empty `buf` the
/// size needed. `by_proc` as for [`list_xattrs_of`].
pub(crate) fn get_xattr_of(
    file: &File,
    by_proc: bool,
    attr: &CStr,
    buf: &mut [u8],
) -> io::Result<usize> {
    if !by_proc {
        // SAFETY: `file` is an open fd, `attr` a valid C string; `buf` is
        // writable for `buf.len()` bytes.
        return cvt_size(|| unsafe {
            libc::fgetxattr(
                file.as_raw_fd(),
                attr.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        } as _);
    }
    let p = fd_path(file);
    // SAFETY: `p` and `attr` are valid C strings; `buf` is writable for `buf.len()` bytes.
    cvt_size(|| unsafe {
        libc::getxattr(
            p.as_ptr(),
            attr.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    } as _)
}

/// `fsetxattr(file, attr, value, 0)`: creates or replaces the attribute.
pub(crate) fn set_xattr(file: &File, attr: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `file` is an open fd, `attr` a valid C string, `value` readable
    // for `value.len()` bytes.
    cvt_r(|| unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            attr.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `fremovexattr(file, attr)`.
pub(crate) fn remove_xattr(file: &File, attr: &CStr) -> io::Result<()> {
    // SAFETY: `file` is an open fd and `attr` a valid C string.
    cvt_r(|| unsafe { libc::fremovexattr(file.as_raw_fd(), attr.as_ptr()) }).map(drop)
}

/// Whether `file` has the extended attribute `attr`: `fgetxattr` asking for
/// the size only.
pub(crate) fn has_xattr(file: &File, attr: &CStr) -> io::Result<bool> {
    // SAFETY: `file` is an open fd and `attr` a valid C string; a null buffer
    // of size 0 asks for the value's size only.
    let r = cvt_size(|| unsafe {
        libc::fgetxattr(file.as_raw_fd(), attr.as_ptr(), std::ptr::null_mut(), 0)
    } as _);
    match r {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENODATA) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

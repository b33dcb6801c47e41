//! The unnamed temp (`O_TMPFILE`) and the name it gets at commit (`linkat`),
//! or a named temp where the filesystem, the kernel or a sandbox has none.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

use super::{unavailable, Missing};
use crate::sys::unix::{self, cstr, cvt_r};
use crate::sys::Temp;

/// `openat(O_TMPFILE)` answered `ENOSYS` or `EPERM`: a sandbox (a filter on
/// the open flags) or a security module forbids it; temps are named.
static NO_TMPFILE: Missing = Missing::new();

/// Creates the temp: unnamed (`O_TMPFILE`) where the filesystem supports it,
/// else named. `mode` are the permission bits (the umask applies on top).
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    owner_only: bool,
    force_named: bool,
) -> io::Result<Temp> {
    // A named temp, which others could open by its name, is owner-only.
    let named_mode = if owner_only { mode & 0o600 } else { mode };
    if force_named || NO_TMPFILE.get() || NOT_LINKABLE.get() {
        return unix::create_named_temp(dir, target, named_mode);
    }
    let flags = libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open directory fd and the path a static C string; the
    // mode is the variadic `mode_t` argument O_TMPFILE requires.
    let r = cvt_r(|| unsafe {
        libc::openat(dir.as_raw_fd(), c".".as_ptr(), flags, mode as libc::c_uint)
    });
    match r {
        Ok(fd) => Ok(Temp {
            // SAFETY: `fd` was just returned by openat and is owned by nobody else.
            file: unsafe { File::from_raw_fd(fd) },
            name: None,
        }),
        // The filesystem (EOPNOTSUPP) or the kernel (EISDIR, EINVAL: pre-3.11
        // kernels read O_TMPFILE as O_DIRECTORY) has no unnamed temps: asked
        // again next time, another filesystem may have them.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
            ) =>
        {
            unix::create_named_temp(dir, target, named_mode)
        }
        // A sandbox or a security module forbids it: not asked again. (A
        // wrong guess costs nothing but the unnamed temp: the named one is
        // always right.)
        Err(e) if unavailable(&e) => {
            NO_TMPFILE.set();
            unix::create_named_temp(dir, target, named_mode)
        }
        Err(e) => Err(e),
    }
}

/// An unnamed temp of this process could be linked neither way (see
/// [`link_unnamed`]): an unprivileged writer on a kernel before 6.10 without
/// `/proc`, a sandbox that forbids both calls, or a process whose credentials
/// changed. Its data was copied into a named temp at commit; from then on the
/// temps of this process are named from the start, so no later commit pays
/// for the failed links and the copy. Not found out up front: that took a
/// `uname` in every process (a one-shot CLI write is one process), for a case
/// the commit handles anyway.
static NOT_LINKABLE: Missing = Missing::new();

/// Gives an unnamed temp the name `name` in `dir`; fails with `EEXIST` if taken.
///
/// `linkat(fd, "", dir, name, AT_EMPTY_PATH)` first: no path lookup at all,
/// allowed to root and, since Linux 6.10, to whoever opened the file with the
/// credentials it still has. Where it is refused (`ENOENT`: credentials
/// changed since, or no privilege before 6.10; `EPERM`/`ENOSYS`: a sandbox),
/// the classic `linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW)`, which costs a
/// walk through procfs. If that fails too, the error of the first: see
/// [`unlinkable`] (the caller then copies the data into a named temp).
pub(crate) fn link_unnamed(file: &File, dir: &File, name: &OsStr) -> io::Result<()> {
    let to = cstr(name)?;
    if NO_EMPTY_PATH_LINK.get() {
        return link_proc(file, dir, &to);
    }
    // SAFETY: `file` and `dir` are open fds; the empty path is a static C string.
    let r = cvt_r(|| unsafe {
        libc::linkat(
            file.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    });
    let first = match r {
        Ok(_) => return Ok(()),
        Err(e) if unlinkable(&e) => e,
        Err(e) => return Err(e),
    };
    match link_proc(file, dir, &to) {
        Ok(()) => {
            // A sandbox's answer (the same link through /proc was allowed)
            // holds for every file: not asked again. (`ENOENT` depends on
            // this file's credentials, and is asked each time.)
            if unavailable(&first) {
                NO_EMPTY_PATH_LINK.set();
            }
            Ok(())
        }
        Err(e) if unlinkable(&e) => {
            NOT_LINKABLE.set();
            Err(first)
        }
        Err(e) => Err(e),
    }
}

/// `linkat(AT_EMPTY_PATH)` answered `ENOSYS` or `EPERM`: a sandbox forbids it.
static NO_EMPTY_PATH_LINK: Missing = Missing::new();

/// Whether linking an unnamed temp failed because this process may not do it
/// here, not because of the directory: `ENOENT` (credentials changed since the
/// temp was opened, or no `/proc`), `EACCES` (`/proc/self/fd` closed to a
/// process that changed its credentials), `EPERM`, `ENOSYS` (a sandbox). The
/// data can then still be copied into a named temp.
pub(crate) fn unlinkable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::ENOSYS)
    )
}

/// `linkat("/proc/self/fd/N", dir, to, AT_SYMLINK_FOLLOW)`.
fn link_proc(file: &File, dir: &File, to: &CStr) -> io::Result<()> {
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .expect("no NUL in a formatted path");
    // SAFETY: both paths are valid C strings; `dir` is an open directory fd.
    cvt_r(|| unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

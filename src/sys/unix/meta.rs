//! A file's metadata: `stat` as a [`Meta`], the mode and the owner.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::{cstr, cvt_r};
use crate::sys::{FileKind, Meta};

/// The caller's effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// `lstat` of `name` inside `dir`; `Ok(None)` if nothing is there.
pub(crate) fn stat_at(dir: &File, name: &OsStr) -> io::Result<Option<Meta>> {
    let c = cstr(name)?;
    // SAFETY: all-zero bytes are a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `dir` is an open fd, `c` a valid C string and `st` a valid out-pointer.
    let r = cvt_r(|| unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    });
    match r {
        Ok(_) => Ok(Some(meta(&st))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `fstat` of an open file (or directory).
pub(crate) fn fstat(file: &File) -> io::Result<Meta> {
    // SAFETY: all-zero bytes are a valid `struct stat`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `file` is an open fd and `st` a valid out-pointer.
    cvt_r(|| unsafe { libc::fstat(file.as_raw_fd(), &mut st) })?;
    Ok(meta(&st))
}

#[allow(clippy::unnecessary_cast)] // `dev_t`/`ino_t` are narrower on some platforms
fn meta(st: &libc::stat) -> Meta {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFDIR => FileKind::Directory,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Special,
    };
    Meta {
        kind,
        mode: (st.st_mode & 0o7777) as u32,
        uid: st.st_uid,
        gid: st.st_gid,
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        size: st.st_size as u64,
        nlink: st.st_nlink as u64,
        mtime: time(st.st_mtime as i64, st.st_mtime_nsec as i64),
    }
}

/// A `stat` time as a [`SystemTime`](std::time::SystemTime).
fn time(secs: i64, nsecs: i64) -> std::time::SystemTime {
    use std::time::{Duration, UNIX_EPOCH};
    let nanos = Duration::from_nanos(nsecs.clamp(0, 999_999_999) as u64);
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

/// `fchmod`: the exact permission bits.
pub(crate) fn chmod(file: &File, mode: u32) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open file descriptor.
    cvt_r(|| unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
}

/// `fchown` to `uid:gid`, or to the group alone, or nothing: whatever the
/// process may do; returns whether the owner and the group were set. Only `EPERM` and
/// `EINVAL` (an id unmapped in a user namespace) are swallowed; other errors
/// (`EIO`, `EROFS`) are real.
pub(crate) fn chown_best_effort(file: &File, uid: u32, gid: u32) -> io::Result<(bool, bool)> {
    let fd: RawFd = file.as_raw_fd();
    // SAFETY: `fd` is an open file descriptor.
    match cvt_r(|| unsafe { libc::fchown(fd, uid, gid) }) {
        Ok(_) => return Ok((true, true)),
        // EINVAL: the owner has no id in our user namespace (`unshare -r`,
        // rootless containers): as little ours to give as with EPERM.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EINVAL)) => {}
        Err(e) => return Err(e),
    }
    // Not allowed to give the file away; keep the group if we are a member.
    // SAFETY: `fd` is an open file descriptor; `uid_t::MAX` (-1) leaves the owner as is.
    match cvt_r(|| unsafe { libc::fchown(fd, libc::uid_t::MAX, gid) }) {
        Ok(_) => Ok((false, true)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EINVAL)) => {
            Ok((false, false))
        }
        Err(e) => Err(e),
    }
}

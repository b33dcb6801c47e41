//! Names in a directory: rename, link, the no-clobber rename, unlink.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::{cstr, cvt_r};

/// `renameat(dir, from, dir, to)`: atomically replaces `to`.
pub(crate) fn rename(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
    cvt_r(|| unsafe { libc::renameat(d, f.as_ptr(), d, t.as_ptr()) }).map(drop)
}

/// `linkat(dir, from, dir, to)`: fails with `EEXIST` if `to` exists.
pub(crate) fn link(dir: &File, from: &OsStr, to: &OsStr) -> io::Result<()> {
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
    cvt_r(|| unsafe { libc::linkat(d, f.as_ptr(), d, t.as_ptr(), 0) }).map(drop)
}

/// Moves `from` to `to` only if `to` does not exist: on Apple systems
/// `renameatx_np(RENAME_EXCL)`; elsewhere, and where the filesystem refuses
/// that flag, link, then unlink the old name. Race-free: `link` fails with
/// `EEXIST` atomically.
///
/// `Err`: nothing was created. `Ok(Some(e))`: `to` was created, but removing
/// `from` (now a second link to it) failed with `e`; the caller must report
/// that, not a failure to create.
pub(crate) fn rename_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
) -> io::Result<Option<io::Error>> {
    #[cfg(target_vendor = "apple")]
    {
        let (f, t) = (cstr(from)?, cstr(to)?);
        let d = dir.as_raw_fd();
        // SAFETY: `d` is an open directory fd; `f` and `t` are valid C strings.
        let r = cvt_r(|| unsafe {
            libc::renameatx_np(d, f.as_ptr(), d, t.as_ptr(), libc::RENAME_EXCL)
        });
        match r {
            Ok(_) => return Ok(None),
            // A filesystem without the flag (some network and FUSE ones):
            // the link below, decided on each call.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOTSUP | libc::EOPNOTSUPP | libc::EINVAL)
                ) => {}
            Err(e) => return Err(e),
        }
    }
    link(dir, from, to)?;
    Ok(unlink(dir, from).err())
}

/// `unlinkat(dir, name, 0)`.
pub(crate) fn unlink(dir: &File, name: &OsStr) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    cvt_r(|| unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

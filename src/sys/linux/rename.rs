//! The no-clobber rename: `renameat2(RENAME_NOREPLACE)`, else link and unlink.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::Missing;
use crate::sys::unix::{self, cstr, cvt_r};

/// `renameat2` answered `ENOSYS`: a kernel before 3.15, or a sandbox.
static NO_RENAMEAT2: Missing = Missing::new();

/// Renames `from` to `to` in `dir` only if `to` does not exist:
/// `renameat2(RENAME_NOREPLACE)`, or a link and unlink where the filesystem
/// refuses the flag (decided on each call) or the call is not there (`ENOSYS`,
/// remembered; `EPERM` from a sandbox, asked each time, since a filesystem may
/// say `EPERM` too). `Ok(Some(e))` as in [`unix::rename_noreplace`]: created,
/// but the temp name stayed.
pub(crate) fn rename_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
) -> io::Result<Option<io::Error>> {
    if NO_RENAMEAT2.get() {
        return link_noreplace(dir, from, to, libc::ENOSYS);
    }
    let (f, t) = (cstr(from)?, cstr(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: `d` is an open directory fd and `f`, `t` valid C strings; the
    // raw syscall is used because older C libraries lack the wrapper.
    let r = cvt_r(|| unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            d,
            f.as_ptr(),
            d,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        ) as libc::c_int
    });
    match r {
        Ok(_) => Ok(None),
        Err(e) => match e.raw_os_error() {
            Some(errno @ (libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM)) => {
                if errno == libc::ENOSYS {
                    NO_RENAMEAT2.set();
                }
                link_noreplace(dir, from, to, errno)
            }
            _ => Err(e),
        },
    }
}

/// The `link`-and-`unlink` no-clobber rename, after `renameat2` said `errno`.
fn link_noreplace(
    dir: &File,
    from: &OsStr,
    to: &OsStr,
    errno: i32,
) -> io::Result<Option<io::Error>> {
    unix::rename_noreplace(dir, from, to).map_err(|e| match e.raw_os_error() {
        // A filesystem without the flag and without hard links (a FUSE
        // vfat): link(2) says EPERM, which alone would read as a denial.
        // (After an EPERM from renameat2 too, it is one.)
        Some(libc::EPERM) if errno != libc::EPERM => crate::error::context(e, || {
            "no-clobber is not supported on this filesystem \
             (it has neither RENAME_NOREPLACE nor hard links)"
                .into()
        }),
        _ => e,
    })
}

//! Directories: opening one for `*at` calls, listing its names, creating
//! one, reading a symlink in one.
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use super::{cstr, cvt_r};

/// Opens a directory for `*at` calls and `fsync`.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let c = cstr(path.as_os_str())?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let fd = cvt_r(|| unsafe { libc::open(c.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by open and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens the directory `path` (relative to `base`, or to the working directory
/// when `None`) for `*at` calls: `O_RDONLY`, so it can be `fsync`ed, or — for a
/// directory the caller may write and search but not read (`0300`) — a
/// descriptor that serves only for `*at` calls (`O_PATH` on Linux). Returns
/// the directory and whether it was opened for reading.
pub(crate) fn open_dir_rel(base: Option<&File>, path: &Path) -> io::Result<(File, bool)> {
    let c = cstr(path.as_os_str())?;
    let at = base.map_or(libc::AT_FDCWD, AsRawFd::as_raw_fd);
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `at` is an open directory fd or AT_FDCWD; `c` is a valid C string.
    match cvt_r(|| unsafe { libc::openat(at, c.as_ptr(), flags) }) {
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        Ok(fd) => Ok((unsafe { File::from_raw_fd(fd) }, true)),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => crate::sys::open_dir_path(at, &c)
            .map(|d| (d, false))
            .map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// No descriptor for a directory that can't be read on the portable path:
/// `EACCES`, as opening it for reading said.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn open_dir_path(_at: RawFd, _path: &std::ffi::CStr) -> io::Result<File> {
    Err(io::Error::from_raw_os_error(libc::EACCES))
}

/// The names in the directory `dir` (without `.` and `..`). The portable
/// path lists it by `path` (`read_dir`); Linux has its own, through `dir`.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn list_dir(_dir: &File, path: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

/// `mkdirat(dir, name, mode)`: the umask applies, as for `mkdir(2)`.
pub(crate) fn mkdir_at(dir: &File, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `dir` is an open fd and `c` a valid C string.
    cvt_r(|| unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// `readlinkat`: the target of the symlink `name` in `dir`.
pub(crate) fn read_link_at(dir: &File, name: &OsStr) -> io::Result<OsString> {
    let c = cstr(name)?;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    loop {
        let cap = buf.capacity();
        // SAFETY: `dir` is an open fd, `c` a valid C string, and `buf` has room
        // for `cap` bytes; readlinkat writes at most that many.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast::<libc::c_char>(),
                cap,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        let n = n as usize;
        if n < cap {
            // SAFETY: readlinkat initialised the first `n` bytes.
            unsafe { buf.set_len(n) };
            return Ok(OsString::from_vec(buf));
        }
        // Possibly truncated: try again with more room.
        buf.reserve(cap * 2);
    }
}

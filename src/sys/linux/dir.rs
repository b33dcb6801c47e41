//! Directories: an `O_PATH` descriptor of one that can't be read, and its
//! names listed through the descriptor (`getdents64`).
#![allow(unsafe_code)]

use std::ffi::{CStr, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

use crate::sys::unix::cvt_r;

/// An `O_PATH` descriptor of the directory `path` (relative to `at`): enough
/// for `*at` calls where the directory may be written and searched but not read.
pub(crate) fn open_dir_path(at: RawFd, path: &CStr) -> io::Result<File> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `at` is an open directory fd or AT_FDCWD; `path` is a valid C string.
    let fd = cvt_r(|| unsafe { libc::openat(at, path.as_ptr(), flags) })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The names in the directory `dir` (without `.` and `..`), read with
/// `getdents64` through the descriptor itself: no path is looked up again.
pub(crate) fn list_dir(dir: &File, _path: &std::path::Path) -> io::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    let fd = dir.as_raw_fd();
    // SAFETY: `fd` is an open directory fd; lseek takes no pointer.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    let mut buf = vec![0u8; 32 << 10];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes; getdents64 writes at most that.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(names);
        }
        // Records: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name NUL-terminated.
        let mut off = 0;
        while off < n as usize {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            let name = &buf[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
            off += reclen;
        }
    }
}

//! A name in a directory, in Win32 terms: the directory handle's final path
//! joined with the name, and paths as NUL-terminated UTF-16.
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};

use windows_sys::Win32::Storage::FileSystem as fs;

/// A NUL-terminated UTF-16 copy of `path`; a NUL inside is `InvalidInput`.
pub(super) fn wide(path: &Path) -> io::Result<Vec<u16>> {
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
pub(super) fn final_path(file: &File) -> io::Result<PathBuf> {
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
pub(super) fn at(dir: &File, name: &OsStr) -> io::Result<PathBuf> {
    Ok(final_path(dir)?.join(name))
}

//! The named temp: its hidden, recognisable name and its exclusive creation.
//! (Unnamed temps are Linux's: here the answers of a system without them.)
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use super::random::random_u64;
use super::{cstr, cvt_r, fstat, lock, unlink};
use crate::sys::Temp;

/// Marker that makes our temp names recognisable: `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp`.
const MARKER: &[u8] = b".atomic-write-";

const SUFFIX: &[u8] = b".tmp";

const RAND_HEX: usize = 16;

/// `NAME_MAX` on every filesystem we know of.
const NAME_MAX: usize = 255;

/// A fresh hidden temp name for `target`: `.TARGET.atomic-write-<16 hex>.tmp`,
/// the target part cut short so the whole stays within `NAME_MAX` (at a
/// character boundary when the target's name is UTF-8).
pub(crate) fn temp_name(target: &OsStr) -> io::Result<OsString> {
    let rand = random_u64()?.to_be_bytes();
    let budget = NAME_MAX - 1 - MARKER.len() - RAND_HEX - SUFFIX.len();
    let t = target.as_bytes();
    let mut cut = t.len().min(budget);
    // A UTF-8 name stays UTF-8: cut before a continuation byte's character.
    if std::str::from_utf8(t).is_ok() {
        while cut > 0 && cut < t.len() && t[cut] & 0xC0 == 0x80 {
            cut -= 1;
        }
    }
    let t = &t[..cut];
    let mut name = Vec::with_capacity(1 + t.len() + MARKER.len() + RAND_HEX + SUFFIX.len());
    name.push(b'.');
    name.extend_from_slice(t);
    name.extend_from_slice(MARKER);
    for b in rand {
        name.push(b"0123456789abcdef"[usize::from(b >> 4)]);
        name.push(b"0123456789abcdef"[usize::from(b & 0xf)]);
    }
    name.extend_from_slice(SUFFIX);
    Ok(OsString::from_vec(name))
}

/// Whether `name` has the shape of a name made by [`temp_name`].
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    let tail = MARKER.len() + RAND_HEX + SUFFIX.len();
    if b.len() < 1 + tail || b[0] != b'.' || !b.ends_with(SUFFIX) {
        return false;
    }
    let rest = &b[b.len() - tail..];
    rest.starts_with(MARKER)
        && rest[MARKER.len()..MARKER.len() + RAND_HEX]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// Creates a named temp file in `dir`: `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`,
/// with permission bits `mode` (the umask applies on top), and locks it
/// ([`lock`](fn@lock)) for as long as the returned file lives, so that
/// [`sweep`](crate::sweep) knows it is live. A sweep that opened the temp in
/// the instant between its creation and the lock may have removed it: then
/// the file has no link left, and another is created.
pub(crate) fn create_named_temp(dir: &File, target: &OsStr, mode: u32) -> io::Result<Temp> {
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let mut tries = 0;
    loop {
        let name = temp_name(target)?;
        let c = cstr(&name)?;
        // SAFETY: `dir` is an open fd and `c` a valid C string; the mode is passed
        // as the variadic `mode_t` argument O_CREAT requires.
        let r = cvt_r(|| unsafe {
            libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint)
        });
        match r {
            Ok(fd) => {
                // SAFETY: `fd` was just returned by openat and is owned by nobody else.
                let file = unsafe { File::from_raw_fd(fd) };
                // A temp that cannot be locked or checked is not handed out:
                // remove it rather than leave it behind.
                let unlinked = match lock(&file).and_then(|()| fstat(&file)) {
                    Ok(m) => m.nlink == 0,
                    Err(e) => {
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
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The portable platform has no unnamed temps: always a named one.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    owner_only: bool,
    _force_named: bool,
) -> io::Result<Temp> {
    create_named_temp(dir, target, if owner_only { mode & 0o600 } else { mode })
}

/// Unnamed temps do not exist here, so there is never one to link.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn link_unnamed(_file: &File, _dir: &File, _name: &OsStr) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Never asked where unnamed temps do not exist.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn unlinkable(_e: &io::Error) -> bool {
    false
}

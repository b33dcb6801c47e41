//! The temp, always named here: its hidden, recognisable name and its
//! exclusive creation (`CREATE_NEW`).

use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::OpenOptionsExt;

use windows_sys::Win32::Foundation as w;
use windows_sys::Win32::Storage::FileSystem as fs;

use super::open::SHARE_ALL;
use super::path::final_path;
use super::random::random_u64;
use super::{fstat, lock, unlink, unsupported};
use crate::sys::Temp;

/// Marker that makes our temp names recognisable: `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp`.
const MARKER: &str = ".atomic-write-";

const SUFFIX: &str = ".tmp";

const RAND_HEX: usize = 16;

/// The longest name NTFS, exFAT and ReFS take, in UTF-16 code units.
const NAME_MAX: usize = 255;

/// A fresh temp name for `target`: `.TARGET.atomic-write-<16 hex>.tmp`, the
/// target part cut short (never inside a surrogate pair) so the whole stays
/// within 255 UTF-16 units.
pub(crate) fn temp_name(target: &OsStr) -> io::Result<OsString> {
    let rand = random_u64()?;
    let budget = NAME_MAX - 1 - MARKER.len() - RAND_HEX - SUFFIX.len();
    let t: Vec<u16> = target.encode_wide().collect();
    let mut cut = t.len().min(budget);
    // Not between the halves of a surrogate pair.
    if cut > 0 && cut < t.len() && (0xDC00..0xE000).contains(&t[cut]) {
        cut -= 1;
    }
    let mut name: Vec<u16> = Vec::with_capacity(NAME_MAX);
    name.push(u16::from(b'.'));
    name.extend_from_slice(&t[..cut]);
    let tail = format!("{MARKER}{rand:016x}{SUFFIX}");
    name.extend(tail.encode_utf16());
    Ok(OsString::from_wide(&name))
}

/// Whether `name` has the shape of a name made by [`temp_name`].
pub(crate) fn is_temp_name(name: &OsStr) -> bool {
    let w: Vec<u16> = name.encode_wide().collect();
    let tail = MARKER.len() + RAND_HEX + SUFFIX.len();
    if w.len() < 1 + tail || w[0] != u16::from(b'.') {
        return false;
    }
    let Ok(rest) = String::from_utf16(&w[w.len() - tail..]) else {
        return false;
    };
    rest.starts_with(MARKER)
        && rest.ends_with(SUFFIX)
        && rest[MARKER.len()..MARKER.len() + RAND_HEX]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Creates a named temp file in `dir` with `CREATE_NEW` (fails on anything
/// there, a dangling symlink included), open for reading, writing and
/// renaming, and locks it ([`lock`](fn@lock)) for as long as it is open.
/// `mode`: only its write bits count, at commit ([`chmod`](super::chmod)); a
/// new file gets the directory's inherited ACL.
pub(crate) fn create_named_temp(dir: &File, target: &OsStr, _mode: u32) -> io::Result<Temp> {
    let base = final_path(dir)?;
    let mut tries = 0;
    loop {
        let name = temp_name(target)?;
        let r = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .access_mode(w::GENERIC_READ | w::GENERIC_WRITE | fs::DELETE)
            .share_mode(SHARE_ALL)
            .open(base.join(&name));
        match r {
            Ok(file) => {
                let unlinked = match lock(&file).and_then(|()| fstat(&file)) {
                    Ok(m) => m.nlink == 0,
                    Err(e) => {
                        drop(file);
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
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Always a named temp here.
pub(crate) fn create_temp(
    dir: &File,
    target: &OsStr,
    mode: u32,
    _owner_only: bool,
    _force_named: bool,
) -> io::Result<Temp> {
    create_named_temp(dir, target, mode)
}

/// No unnamed temps here, so there is never one to link.
pub(crate) fn link_unnamed(_file: &File, _dir: &File, _name: &OsStr) -> io::Result<()> {
    Err(unsupported("linking an unnamed temporary file"))
}

/// No unnamed temps here: never asked.
pub(crate) fn unlinkable(_e: &io::Error) -> bool {
    false
}

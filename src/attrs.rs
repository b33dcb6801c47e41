//! What a replacement keeps beyond mode and owner: the old file's extended
//! attributes — its POSIX access ACL, its security labels, `trusted.*` and
//! `user.*` — so that the new file is the same file to the system.
//!
//! They come from the very inode whose owner and mode the write keeps: when
//! the write starts, the target is opened once (`O_PATH|O_NOFOLLOW`, see
//! [`crate::sys::open_source_at`]), that descriptor is `fstat`ed for owner and
//! mode and its attribute names are listed. (Where nobody but root and the
//! caller can write the directory, so nobody else can swap the file, a
//! listing by name that finds nothing to keep spares all that: see
//! [`none_by_name`].) At commit each value is read
//! through it and given to the temp, one at a time (memory does not grow with
//! the attributes' total size). That is after the owner and before the mode
//! and the data sync, so the inode is complete before it becomes visible:
//! after a crash the target is the old file with its attributes or the new
//! content with them, never new content without its ACL. The access ACL comes
//! first (set, or, where the old file had none, the one the directory's
//! default ACL gave the temp removed), then security labels, then the rest:
//! attribute space that is nearly full is never needed twice.
//!
//! Kept, where the process may set them: `system.posix_acl_access`, `user.*`,
//! `trusted.*` (root only: unprivileged processes do not even see them), and
//! `security.*` (labels such as `security.selinux`, `security.SMACK64`) except
//! the three below. An attribute the process is not permitted to set (`EPERM`
//! for `trusted.*` and `security.*`) is skipped, like an owner it may not give;
//! one it may not read is skipped too. Any other failure fails the write.
//!
//! Not kept, on purpose:
//!
//! - `security.capability`: the kernel drops file capabilities on any write to
//!   a file; new content must not inherit the old one's privileges either;
//! - `security.ima` and `security.evm`: a hash (and an HMAC) of the old
//!   content, maintained by the kernel; copied to new content they would be
//!   wrong, and IMA appraisal would refuse the file;
//! - other `system.*` attributes: filesystem-specific (NFSv4 ACLs, …), not
//!   settable as plain attributes.
//!
//! An access ACL that the directory's default ACL gave the temp is removed when
//! the old file had none (permissions must not appear from nowhere). A new
//! file gets nothing of this: exactly what `>` would give it.
//!
//! A list of names longer than the kernel hands out (64 KiB, `E2BIG`: some
//! thousands of `user.*` names on xfs) never fails the write (`>` works on
//! such a file): what can be read by name is kept — the access ACL and the
//! labels `security.selinux`, `security.SMACK64`, `security.SMACK64EXEC`,
//! `security.SMACK64TRANSMUTE`, `security.SMACK64MMAP`, `security.apparmor` —
//! so nothing widens; the `user.*` and `trusted.*` attributes (and other
//! `security.*` names), which cannot be listed, are dropped.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::path::Path;

use crate::error::ResultExt;
use crate::sys::{self, errno};

/// The POSIX access ACL's attribute name.
const ACL: &CStr = c"system.posix_acl_access";

/// What is kept of a file whose name list is too long to read (`E2BIG`):
/// the names that can be asked for without listing, the ACL and labels first.
const BY_NAME: &[&CStr] = &[
    ACL,
    c"security.selinux",
    c"security.SMACK64",
    c"security.SMACK64EXEC",
    c"security.SMACK64TRANSMUTE",
    c"security.SMACK64MMAP",
    c"security.apparmor",
];

/// Room for a list and a value without a second call in the common case.
const FIRST_TRY: usize = 1024;

/// The extended attributes of an existing target that its replacement gets.
#[derive(Debug, Default)]
pub(crate) struct Xattrs {
    /// The old file, open to read each value at commit (and whether through
    /// `/proc/self/fd`, see [`sys::open_source_at`]); `None` if there is
    /// nothing to keep.
    src: Option<(File, bool)>,
    /// The names to copy: the ACL first, then `security.*`, then the others.
    names: Vec<CString>,
    /// Whether the old file has an access ACL (among `names`).
    acl: bool,
}

impl Xattrs {
    /// Lists the attributes of the file `src` is open on (see
    /// [`sys::open_source_at`]) that a replacement keeps; their values are
    /// read at [`apply`](Self::apply), through `src`.
    ///
    /// Where `src` is read through `/proc/self/fd` (`by_proc`) and there is
    /// no `/proc` (a sandbox, a chroot), `reopen` gives a descriptor open for
    /// reading on the same inode (it must check that), used instead.
    pub(crate) fn read(
        mut src: File,
        mut by_proc: bool,
        target: &Path,
        reopen: impl FnOnce() -> io::Result<File>,
    ) -> io::Result<Xattrs> {
        let what = || format!("failed to read extended attributes of {target:?}");
        let mut listed = read_grow(|buf| sys::list_xattrs_of(&src, by_proc, buf));
        if by_proc
            && matches!(&listed, Err(e) if e.raw_os_error() == Some(errno::ENOENT))
            && !Path::new("/proc/self/fd").is_dir()
        {
            src = reopen().context(what)?;
            by_proc = false;
            listed = read_grow(|buf| sys::list_xattrs_of(&src, by_proc, buf));
        }
        let mut names: Vec<CString> = match listed {
            Ok(list) => list
                .split(|&b| b == 0)
                .filter(|n| kept(n))
                .map(|n| CString::new(n).expect("split at NUL"))
                .collect(),
            // The filesystem has no attributes: nothing to keep.
            Err(e) if is_unsupported(&e) => return Ok(Xattrs::default()),
            // More names than can be listed: keep what can be asked for by
            // name (the ACL and labels, so nothing widens).
            Err(e) if e.raw_os_error() == Some(errno::E2BIG) => {
                let mut found = Vec::new();
                for &attr in BY_NAME {
                    match sys::get_xattr_of(&src, by_proc, attr, &mut []) {
                        Ok(_) => found.push(attr.to_owned()),
                        Err(e) if skippable(&e, attr) || is_unsupported(&e) => {}
                        Err(e) => return Err(e).context(what),
                    }
                }
                found
            }
            Err(e) => return Err(e).context(what),
        };
        if names.is_empty() {
            return Ok(Xattrs::default());
        }
        names.sort_by_key(|n| rank(n));
        let acl = names.first().is_some_and(|n| n.as_c_str() == ACL);
        Ok(Xattrs {
            src: Some((src, by_proc)),
            names,
            acl,
        })
    }

    /// Gives the temp these attributes, read one at a time from the old file,
    /// and first removes an access ACL that the directory's default ACL gave
    /// it where the old file had none. Returns whether the temp's permission
    /// bits may have changed (setting or removing an ACL rewrites the group
    /// bits), so the mode must be set again.
    pub(crate) fn apply(&self, temp: &File, target: &Path) -> io::Result<bool> {
        let mut bits_changed = self.acl;
        if !self.acl {
            // No ACL to set: make sure the temp did not get one from the
            // directory's default ACL (one `fgetxattr`, `ENODATA` as a rule),
            // before anything else takes attribute space.
            let inherited = sys::has_xattr(temp, ACL).context(|| {
                format!("failed to read the access ACL of the temporary file for {target:?}")
            })?;
            if inherited {
                sys::remove_xattr(temp, ACL).context(|| {
                    format!(
                        "failed to remove the access ACL that the temporary file for {target:?} inherited from its directory"
                    )
                })?;
                bits_changed = true;
            }
        }
        let Some((src, by_proc)) = &self.src else {
            return Ok(bits_changed);
        };
        let mut buf = Vec::new();
        for attr in &self.names {
            let value = match get_into(src, *by_proc, attr, &mut buf) {
                Ok(Some(v)) => v,
                // Removed since listed, or a `user.*` one of a file this
                // process may not read: not ours to keep (see `skippable`).
                Ok(None) => continue,
                Err(e) => {
                    return Err(e).context(|| {
                        format!("failed to read extended attribute {attr:?} of {target:?}")
                    })
                }
            };
            match sys::set_xattr(temp, attr, value) {
                Ok(()) => {}
                // Not permitted to this process (unprivileged `trusted.*`,
                // `security.*`): skipped, like an owner it may not give.
                Err(e) if e.raw_os_error() == Some(errno::EPERM) && may_be_refused(attr) => {}
                Err(e) => {
                    return Err(e).context(|| {
                        format!(
                            "failed to copy extended attribute {attr:?} of {target:?} to its temporary file"
                        )
                    })
                }
            }
        }
        Ok(bits_changed)
    }
}

/// Whether the existing target `name` in `dir` certainly has no attribute a
/// replacement keeps, found out by name — one `fstat` of the directory and
/// one `listxattrat` — instead of through a descriptor of the target (an
/// `O_PATH` open, its `fstat`, a listing through `/proc/self/fd`, a close).
///
/// Only where that is as good as reading them from the inode whose owner and
/// mode the write keeps: where nobody but root and the caller can rename
/// entries of the directory (it is neither group- nor world-writable, an
/// ACL's mask included, and is root's or the caller's), so nobody else can
/// swap the file between the `fstatat` that read its owner and mode and the
/// listing. Anywhere else, where the listing finds something to keep, or
/// where the call is not there (before Linux 6.13, in a sandbox that refuses
/// it; not on other systems): `false`, and the caller reads the attributes
/// through one descriptor as ever.
///
/// The listing comes first: where it finds something (a security label on
/// every file, on an SELinux system), the directory is not even looked at.
#[cfg(unix)]
pub(crate) fn none_by_name(dir: &File, name: &std::ffi::OsStr) -> io::Result<bool> {
    let mut buf = [0u8; 256];
    let none = match sys::list_xattrs_at(dir, name, &mut buf) {
        Ok(Some(n)) => !buf[..n].split(|&b| b == 0).any(kept),
        // The filesystem has no attributes: nothing to keep.
        Err(e) if is_unsupported(&e) => true,
        // Not there, too many to list here (`ERANGE`), gone, …: the
        // descriptor's way decides.
        Ok(None) | Err(_) => false,
    };
    if !none {
        return Ok(false);
    }
    let Ok(d) = sys::fstat(dir) else {
        return Ok(false);
    };
    Ok(d.mode & 0o022 == 0 && (d.uid == 0 || d.uid == sys::euid()))
}

/// Not known on other systems.
#[cfg(not(unix))]
pub(crate) fn none_by_name(_dir: &File, _name: &std::ffi::OsStr) -> io::Result<bool> {
    Ok(false)
}

/// Whether the attributes of the file `target` is open on are those a
/// replacement would have: with `kept`, the target's own (the write keeps
/// them all but `security.capability`, which it drops); without, those the
/// new file `temp` got from the kernel (a default ACL, a label), compared
/// name by name and value by value, one at a time. A list that cannot be
/// read whole (`E2BIG`) is a difference.
pub(crate) fn same_as_written(target: &File, temp: &File, kept: bool) -> io::Result<bool> {
    let Some(theirs) = names_of(target)? else {
        return Ok(false);
    };
    if kept {
        return Ok(!theirs
            .iter()
            .any(|n| n.as_bytes() == b"security.capability"));
    }
    let Some(ours) = names_of(temp)? else {
        return Ok(false);
    };
    if theirs != ours {
        return Ok(false);
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for attr in &theirs {
        let x = get_into(target, false, attr, &mut a)?;
        let y = get_into(temp, false, attr, &mut b)?;
        if x != y {
            return Ok(false);
        }
    }
    Ok(true)
}

/// All attribute names of `file`, sorted; `None` if too many to list.
fn names_of(file: &File) -> io::Result<Option<Vec<CString>>> {
    let list = match read_grow(|buf| sys::list_xattrs_of(file, false, buf)) {
        Ok(list) => list,
        Err(e) if is_unsupported(&e) => return Ok(Some(Vec::new())),
        Err(e) if e.raw_os_error() == Some(errno::E2BIG) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut names: Vec<CString> = list
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| CString::new(n).expect("split at NUL"))
        .collect();
    names.sort();
    Ok(Some(names))
}

/// The value of `attr` of `src` into `buf` (reused from call to call, so
/// it grows to the largest value, never to their sum); `None` if it is gone or
/// not readable by this process.
fn get_into<'a>(
    src: &File,
    by_proc: bool,
    attr: &CStr,
    buf: &'a mut Vec<u8>,
) -> io::Result<Option<&'a [u8]>> {
    if buf.is_empty() {
        buf.resize(FIRST_TRY, 0);
    }
    loop {
        match sys::get_xattr_of(src, by_proc, attr, buf) {
            Ok(n) => return Ok(Some(&buf[..n])),
            Err(e) if e.raw_os_error() == Some(errno::ERANGE) => {
                let need = match sys::get_xattr_of(src, by_proc, attr, &mut []) {
                    Ok(n) => n,
                    Err(e) if skippable(&e, attr) => return Ok(None),
                    Err(e) => return Err(e),
                };
                buf.resize(need.max(buf.len() * 2), 0);
            }
            Err(e) if skippable(&e, attr) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// An attribute removed since listed (`ENODATA`), or a `user.*` one this
/// process may not read (`EACCES`, `EPERM`: the file is not readable to it;
/// `>` would work there, so the write does too, without it). Any other
/// attribute that cannot be read fails the write: dropping an ACL or a
/// security label could widen access.
fn skippable(e: &io::Error, attr: &CStr) -> bool {
    match e.raw_os_error() {
        Some(errno::ENODATA) => true,
        Some(errno::EACCES) | Some(errno::EPERM) => attr.to_bytes().starts_with(b"user."),
        _ => false,
    }
}

/// The order attributes are given in: the ACL, labels, the rest.
fn rank(name: &CStr) -> u8 {
    let b = name.to_bytes();
    if name == ACL {
        0
    } else if b.starts_with(b"security.") {
        1
    } else {
        2
    }
}

/// Whether the attribute `name` is one a replacement keeps.
fn kept(name: &[u8]) -> bool {
    if name.starts_with(b"security.") {
        !matches!(
            name,
            b"security.capability" | b"security.ima" | b"security.evm"
        )
    } else {
        name == ACL.to_bytes() || name.starts_with(b"user.") || name.starts_with(b"trusted.")
    }
}

/// Whether setting `attr` needs a privilege the process may lack.
fn may_be_refused(attr: &CStr) -> bool {
    let b = attr.to_bytes();
    b.starts_with(b"trusted.") || b.starts_with(b"security.")
}

/// Whether `e` says the filesystem has no extended attributes (of this kind).
fn is_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(errno::ENOTSUP) || e.raw_os_error() == Some(errno::EOPNOTSUPP)
}

/// Runs a `*xattr` call that fills a buffer: first into a small one, then, on
/// `ERANGE`, into one of the size the call reports (again if it grew meanwhile).
fn read_grow(mut call: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; FIRST_TRY];
    loop {
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(errno::ERANGE) => {
                let need = call(&mut [])?;
                buf.resize(need.max(buf.len() * 2), 0);
            }
            Err(e) => return Err(e),
        }
    }
}

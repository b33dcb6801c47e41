//! What a replacement keeps beyond mode and owner: the old file's extended
//! attributes — its POSIX access ACL, its security labels, `trusted.*` and
//! `user.*` — so that the new file is the same file to the system.
//!
//! They are read from the target when the write starts (relative to its
//! directory, without following a symlink swapped in since), and given to the
//! temp at commit after the owner and before the mode and the data sync, so the
//! inode is complete before it becomes visible: after a crash the target is the
//! old file with its attributes or the new content with them, never new
//! content without its ACL.
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

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::path::Path;

use crate::error::ResultExt;
use crate::sys::{self, errno};

/// The POSIX access ACL's attribute name.
const ACL: &CStr = c"system.posix_acl_access";

/// Room for a list and a value without a second call in the common case.
const FIRST_TRY: usize = 1024;

/// The extended attributes of an existing target that its replacement gets.
#[derive(Debug, Default)]
pub(crate) struct Xattrs {
    /// Name and value of each attribute to set, in the order listed.
    kept: Vec<(CString, Vec<u8>)>,
    /// Whether the old file has an access ACL (among `kept`).
    acl: bool,
}

impl Xattrs {
    /// Reads the attributes of `name` in `dir` that a replacement keeps. A
    /// symlink at `name` is not followed: it was resolved before, and one
    /// swapped in since has no attributes of ours to give.
    pub(crate) fn read(dir: &File, name: &OsStr, target: &Path) -> io::Result<Xattrs> {
        let what = || format!("failed to read extended attributes of {target:?}");
        let names = match read_grow(|buf| sys::list_xattrs_at(dir, name, buf)) {
            Ok(names) => names,
            // The filesystem has no attributes, or the target went away (the
            // rename will then create it): nothing to keep.
            Err(e) if is_unsupported(&e) || e.raw_os_error() == Some(errno::ENOENT) => {
                return Ok(Xattrs::default())
            }
            Err(e) => return Err(e).context(what),
        };
        let mut xattrs = Xattrs::default();
        for attr in names.split(|&b| b == 0).filter(|n| kept(n)) {
            let attr = CString::new(attr).expect("split at NUL");
            let value = match read_grow(|buf| sys::get_xattr_at(dir, name, &attr, buf)) {
                Ok(v) => v,
                // Removed since listed, or not readable by this process
                // (`user.*` of a file it may not read): not ours to keep.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(errno::ENODATA) | Some(errno::EACCES) | Some(errno::EPERM)
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    return Err(e).context(|| {
                        format!("failed to read extended attribute {attr:?} of {target:?}")
                    })
                }
            };
            xattrs.acl |= attr.as_c_str() == ACL;
            xattrs.kept.push((attr, value));
        }
        Ok(xattrs)
    }

    /// Gives the temp these attributes, and removes an access ACL that the
    /// directory's default ACL gave it where the old file had none. Returns
    /// whether the temp's permission bits may have changed (setting or
    /// removing an ACL rewrites the group bits), so the mode must be set again.
    pub(crate) fn apply(&self, temp: &File, target: &Path) -> io::Result<bool> {
        for (attr, value) in &self.kept {
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
        if self.acl {
            return Ok(true);
        }
        // No ACL to set: make sure the temp did not get one from the
        // directory's default ACL (one `fgetxattr`, `ENODATA` as a rule).
        let inherited = sys::has_xattr(temp, ACL).context(|| {
            format!("failed to read the access ACL of the temporary file for {target:?}")
        })?;
        if !inherited {
            return Ok(false);
        }
        sys::remove_xattr(temp, ACL).context(|| {
            format!(
                "failed to remove the access ACL that the temporary file for {target:?} inherited from its directory"
            )
        })?;
        Ok(true)
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

//! What a replacement inherits from the file it replaces: owner, mode and
//! extended attributes, read from the old file once, and given to a new file
//! in one place ([`Inherit::apply`]) — the commit's temp, the backup's copy —
//! and compared in one place ([`Inherit::want`]) for
//! [`commit_if_changed`](crate::AtomicFile::commit_if_changed).

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;

use crate::attrs::Xattrs;
use crate::changed::Want;
use crate::error::{self, DisplayQuoted, ResultExt};
use crate::options::Options;
use crate::sys::{self, errno, Meta};

/// Owner, mode and attributes a new file is to be given.
#[derive(Debug, Default)]
pub(crate) struct Inherit {
    /// `(uid, gid)` to give the file, if any.
    owner: Option<(u32, u32)>,
    /// Permission bits to set, if any.
    mode: Option<u32>,
    /// Whether `mode` is the old file's rather than an explicit one.
    mode_inherited: bool,
    /// The old file's extended attributes, if kept.
    xattrs: Option<Xattrs>,
    /// Whether what the filesystem cannot do at all (`ENOSYS`, `EOPNOTSUPP`
    /// from `fchown` or `fchmod`, as `fusefat` answers) is skipped, as `cp`
    /// skips it: for the backup's copy, not for the write itself.
    lenient: bool,
}

impl Inherit {
    /// What a write with `opts` gives its temp: the explicit mode, or the
    /// existing target's (`existing`: its `lstat`, a regular file); its owner
    /// with `preserve_owner`; its attributes with `preserve_xattrs`.
    ///
    /// Owner, mode and extended attributes all come from one inode: the
    /// target opened once (`name` in `dir`), that descriptor `fstat`ed and its
    /// attributes listed (two lookups by name would let a directory writer
    /// swap the file between them and have its ACL kept with our owner and
    /// mode). Where nobody but root and the caller can write the directory,
    /// nobody can swap it: a listing by name that finds nothing to keep is
    /// enough ([`crate::attrs::none_by_name`]). Returns the metadata they
    /// came from.
    pub(crate) fn read(
        dir: &File,
        name: &OsStr,
        target: &Path,
        existing: Option<Meta>,
        opts: &Options,
    ) -> io::Result<(Inherit, Option<Meta>)> {
        let (existing, xattrs) = match existing {
            Some(m) if opts.preserve_xattrs => {
                let (now, xattrs) = read_xattrs(dir, name, target, m)?;
                (Some(now), Some(xattrs))
            }
            other => (other, None),
        };
        let inherit = Inherit {
            owner: existing
                .filter(|_| opts.preserve_owner)
                .map(|m| (m.uid, m.gid)),
            mode: opts.mode.or(existing.map(|m| m.mode)),
            mode_inherited: opts.mode.is_none() && existing.is_some(),
            xattrs,
            lenient: false,
        };
        Ok((inherit, existing))
    }

    /// All of the file `src` (of metadata `meta`) is open on, for a copy of
    /// it (the backup's, where there are no hard links); what the filesystem
    /// cannot keep is skipped.
    pub(crate) fn of_copy(src: &File, meta: &Meta, target: &Path) -> io::Result<Inherit> {
        let xattrs = Xattrs::read(src.try_clone()?, false, target, || {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        })?;
        Ok(Inherit {
            owner: Some((meta.uid, meta.gid)),
            mode: Some(meta.mode),
            mode_inherited: true,
            xattrs: Some(xattrs),
            lenient: true,
        })
    }

    /// Whether there is nothing to give (a new file, no explicit mode).
    pub(crate) fn is_empty(&self) -> bool {
        self.owner.is_none() && self.mode.is_none() && self.xattrs.is_none()
    }

    /// The mode to set, if any (explicit or inherited).
    pub(crate) fn mode(&self) -> Option<u32> {
        self.mode
    }

    /// An explicit mode, chosen after the temp was created (`AtomicFile::set_mode`).
    pub(crate) fn set_mode(&mut self, mode: u32) {
        self.mode = Some(mode);
        self.mode_inherited = false;
    }

    /// Whether a mode will be set (explicit or inherited).
    pub(crate) fn has_mode(&self) -> bool {
        self.mode.is_some()
    }

    /// The bits to create the temp with: never more permissive than the
    /// result while data is being written (the final bits, which may add
    /// setuid, come at [`apply`](Self::apply)). A new file without an explicit
    /// mode: `0o666`, so the kernel applies the umask (and any default ACL)
    /// exactly as for `open(O_CREAT, 0o666)`; nothing to set later.
    pub(crate) fn create_mode(&self) -> u32 {
        self.mode.map_or(0o666, |m| m & 0o777)
    }

    /// Where a temp of `old`'s owner and mode is replaced by a copy (see
    /// `Temp::copy_to_named`): the copy gets them too where nothing else was
    /// to be given.
    pub(crate) fn keep_temp_meta(&mut self, old: &Meta) {
        self.owner.get_or_insert((old.uid, old.gid));
        self.mode.get_or_insert(old.mode);
    }

    /// Where a temp is made owner-only for a while (`validate.rs`): the
    /// commit gives it back `mode` where no mode was to be set.
    pub(crate) fn keep_temp_mode(&mut self, mode: u32) {
        self.mode.get_or_insert(mode);
    }

    /// Owner, then extended attributes, then mode, given to `file` (whose
    /// metadata is `now`), a temp file for `target`.
    ///
    /// `now` tells which of `fchown` and `fchmod` would change anything; the
    /// others are skipped. `fchown` changes no permission bit but
    /// setuid/setgid (then `fchmod` always runs), setting or removing an ACL
    /// rewrites the group bits (then too). An inherited setuid (setgid) bit
    /// is dropped when the owner (group) could not be kept, as `cp -p` and
    /// `install` do: a setuid file owned by the writer instead would run as
    /// the writer.
    pub(crate) fn apply(&self, file: &File, now: &Meta, target: &Path) -> io::Result<()> {
        let mut bits_known = true;
        let mut mode = self.mode;
        if let Some((uid, gid)) = self.owner.filter(|&o| o != (now.uid, now.gid)) {
            let (uid_kept, gid_kept) = match sys::chown_best_effort(file, uid, gid) {
                Err(e) if self.lenient && not_here(&e) => (false, false),
                r => r.context(|| {
                    format!(
                        "failed to set the owner of the temporary file for {}",
                        target.display_quoted()
                    )
                })?,
            };
            // chown may clear setuid/setgid, and changes no other bit.
            bits_known = now.mode & 0o6000 == 0;
            if self.mode_inherited {
                let owner_changed = !uid_kept && uid != now.uid;
                let group_changed = !gid_kept && gid != now.gid;
                let drop = (if owner_changed { 0o4000 } else { 0 })
                    | (if group_changed { 0o2000 } else { 0 });
                mode = mode.map(|m| m & !drop);
            }
        }
        if let Some(xattrs) = &self.xattrs {
            // Setting or removing an ACL rewrites the group bits.
            if xattrs.apply(file, target)? {
                bits_known = false;
            }
        }
        if let Some(mode) = mode.filter(|&m| !bits_known || m != now.mode) {
            match sys::chmod(file, mode) {
                Err(e) if self.lenient && not_here(&e) => {}
                r => r.context(|| {
                    format!(
                        "failed to set permissions {mode:#o} on the temporary file for {}",
                        target.display_quoted()
                    )
                })?,
            }
        }
        Ok(())
    }

    /// What the result of a commit looks like besides its content, for a
    /// file whose metadata is `now`.
    pub(crate) fn want(&self, now: &Meta) -> Want {
        Want {
            // An inherited mode and owner are the target's own by definition.
            mode: if self.mode_inherited {
                None
            } else {
                Some(self.mode.unwrap_or(now.mode))
            },
            owner: self.owner.is_none().then_some((now.uid, now.gid)),
            xattrs_kept: self.xattrs.is_some(),
        }
    }
}

/// The attributes of the existing target `name` in `dir` (whose `lstat` was
/// `m`), with the metadata of the very inode they were listed from.
fn read_xattrs(dir: &File, name: &OsStr, target: &Path, m: Meta) -> io::Result<(Meta, Xattrs)> {
    let what = || {
        format!(
            "failed to read extended attributes of {}",
            target.display_quoted()
        )
    };
    // Where only root and the caller could swap the file, a listing by name
    // that finds nothing to keep is as good (and much cheaper).
    if crate::attrs::none_by_name(dir, name).context(what)? {
        return Ok((m, Xattrs::default()));
    }
    match sys::open_source_at(dir, name) {
        Ok((src, by_proc)) => {
            let now = sys::fstat(&src).context(what)?;
            if now.kind != sys::FileKind::Regular {
                // Swapped for something else since: it has no attributes of
                // ours to give.
                return Ok((m, Xattrs::default()));
            }
            // Without `/proc`: the file opened for reading, which must be the
            // inode just `fstat`ed.
            let reopen = || {
                let f = sys::open_read_nofollow_at(dir, name)?;
                let m = sys::fstat(&f)?;
                if (m.dev, m.ino) != (now.dev, now.ino) {
                    return Err(error::os(errno::EAGAIN, || {
                        "the file was replaced while it was read".to_string()
                    }));
                }
                Ok(f)
            };
            Ok((now, Xattrs::read(src, by_proc, target, reopen)?))
        }
        // Gone since (the rename will create it): nothing to keep.
        Err(e) if e.raw_os_error() == Some(errno::ENOENT) => Ok((m, Xattrs::default())),
        Err(e) => Err(error::context(e, what)),
    }
}

/// Whether `e` says the filesystem cannot do this at all (`fusefat` answers
/// `fchown` and `fchmod` with `ENOSYS`).
fn not_here(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(errno::ENOSYS) | Some(errno::EOPNOTSUPP)
    )
}

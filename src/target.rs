//! The target of a write: its directory, open, and its name there, with the
//! path that names it in messages. Everything done *by name* in that
//! directory goes through here — the rename over the target, the link or
//! rename that creates it without replacing, the removal of a named temp, the
//! backup, the directory's sync — and so do the messages that name the
//! target, and the checks of what may be replaced.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::backup_name::{Plan, Turn};
use crate::error::{self, DisplayQuoted, ResultExt};
use crate::options::Durability;
use crate::sys::{self, errno, FileKind, Meta, Protection};

/// A resolved target (see [`crate::resolve`]): never opened by its path again.
#[derive(Debug)]
pub(crate) struct Target {
    /// The target's directory, open for `*at` calls (and `fsync` if `dir_readable`).
    dir: File,
    /// Whether `dir` can be synced; if not (a `0300` directory, opened
    /// `O_PATH`), its entries are made durable by a `syncfs` through a file
    /// in it.
    dir_readable: bool,
    /// The target: absolute, symlinks at its last component resolved; for
    /// messages and `AtomicFile::target()` only, never opened.
    path: PathBuf,
    /// The target's name inside `dir`.
    name: OsString,
}

impl Target {
    pub(crate) fn new(dir: File, dir_readable: bool, path: PathBuf, name: OsString) -> Target {
        Target {
            dir,
            dir_readable,
            path,
            name,
        }
    }

    /// The target, for messages and `AtomicFile::target()`.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The target's name in its directory.
    pub(crate) fn name(&self) -> &OsStr {
        &self.name
    }

    /// The target's directory, open.
    pub(crate) fn dir(&self) -> &File {
        &self.dir
    }

    /// The directory's path (absolute where the working directory has a
    /// name), for messages.
    pub(crate) fn dir_path(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    /// A message naming the target: `"{step} \"/the/target\""`.
    pub(crate) fn what<'a>(&'a self, step: &'a str) -> impl FnOnce() -> String + 'a {
        move || format!("{step} {}", self.path.display_quoted())
    }

    /// The sibling `name`, for messages.
    fn shown(&self, name: &OsStr) -> String {
        self.dir_path().join(name).display_quoted()
    }

    /// Refuses a durable write where the directory cannot be synced: it can't
    /// be read, and syncing its filesystem is not known to cover it.
    pub(crate) fn check_durable(&self, durability: Durability) -> io::Result<()> {
        if self.dir_readable
            || durability != Durability::Full
            || sys::syncfs_trusted(&self.dir, false).unwrap_or(false)
        {
            return Ok(());
        }
        Err(error::os(errno::EACCES, || {
            format!(
                "cannot make a rename in {} durable: the directory can't be read, so it can't be synced, and syncing its whole filesystem is not known to cover it (Durability::None would skip the sync)",
                self.dir_path().display_quoted()
            )
        }))
    }

    /// Refuses a target that cannot be replaced by a regular file (`meta`:
    /// what is there); returns the metadata of an existing regular target (a
    /// symlink not followed is "new").
    pub(crate) fn replaceable(&self, meta: Option<Meta>) -> io::Result<Option<Meta>> {
        match meta.map(|m| m.kind) {
            None | Some(FileKind::Symlink) => Ok(None),
            Some(FileKind::Regular) => Ok(meta),
            Some(FileKind::Directory) => Err(error::os(errno::EISDIR, self.what("cannot replace"))),
            Some(FileKind::Special) => Err(error::context(
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file (FIFO, socket or device)",
                ),
                self.what("cannot replace"),
            )),
        }
    }

    /// The kernel's `fs.protected_regular` rule for an existing regular
    /// target `existing` of a write that the caller `fsuid` does not own: in
    /// a sticky directory that is world-writable (setting 1 or 2) or
    /// group-writable (setting 2), a file owned by neither the caller nor the
    /// directory's owner is refused, as `open(O_CREAT)` refuses it for `>`.
    /// Costs an `fstat` of the directory, only for such a file.
    pub(crate) fn check_regular(&self, existing: &Meta) -> io::Result<()> {
        let d = sys::fstat(&self.dir)
            .context(self.what("failed to read metadata of the directory of"))?;
        if d.mode & 0o1000 == 0 || d.mode & 0o022 == 0 || existing.uid == d.uid {
            return Ok(());
        }
        if existing.uid == sys::euid() {
            return Ok(());
        }
        let level = sys::protection(Protection::Regular);
        let refused = (level >= 1 && d.mode & 0o002 != 0) || (level >= 2 && d.mode & 0o020 != 0);
        if !refused {
            return Ok(());
        }
        Err(error::os(errno::EACCES, || {
            format!(
                "refusing to replace {}: it is in a sticky {}-writable directory and owned by uid {}, neither the caller nor the directory's owner (fs.protected_regular)",
                self.path.display_quoted(),
                if d.mode & 0o002 != 0 { "world" } else { "group" },
                existing.uid
            )
        }))
    }

    /// Renames the sibling `tmp` over the target.
    pub(crate) fn replace_with(&self, tmp: &OsStr) -> io::Result<()> {
        sys::rename(&self.dir, tmp, &self.name).context(|| {
            format!(
                "failed to rename {} to {}",
                self.shown(tmp),
                self.path.display_quoted()
            )
        })
    }

    /// Renames the sibling `tmp` to the target's name, failing with
    /// `AlreadyExists` if that exists. `Ok(Some(e))`: created, but `tmp` could
    /// not be removed after the link-based fallback, and `e` says so.
    pub(crate) fn create_from(&self, tmp: &OsStr) -> io::Result<Option<io::Error>> {
        let kept = sys::rename_noreplace(&self.dir, tmp, &self.name)
            .context(self.what("failed to create"))?;
        Ok(kept.map(|e| {
            error::context(e, || {
                format!(
                    "created {}, but the temporary file {} was left behind as a second link to it: failed to remove it",
                    self.path.display_quoted(),
                    self.shown(tmp)
                )
            })
        }))
    }

    /// Links the unnamed file `file` under `name` in the directory (the
    /// error as the system gave it: the caller tells what it means).
    pub(crate) fn link_unnamed(&self, file: &File, name: &OsStr) -> io::Result<()> {
        sys::link_unnamed(file, &self.dir, name)
    }

    /// Removes the sibling `tmp`.
    pub(crate) fn remove(&self, tmp: &OsStr) -> io::Result<()> {
        sys::unlink(&self.dir, tmp)
            .context(|| format!("failed to remove temporary file {}", self.shown(tmp)))
    }

    /// Removes the sibling `tmp` after `err`; if that is refused too (an
    /// append-only directory), `tmp` stays behind and `err` says so.
    pub(crate) fn remove_after(&self, tmp: &OsStr, err: io::Error) -> io::Error {
        match sys::unlink(&self.dir, tmp) {
            Ok(()) => err,
            Err(e) if e.kind() == io::ErrorKind::NotFound => err,
            Err(e) => error::note(err, || {
                format!(
                    "and the temporary file {} was left behind: failed to remove it: {e}",
                    self.shown(tmp)
                )
            }),
        }
    }

    /// Makes the current target the backup `plan` asks for, durably with
    /// `durable`; `via` is a file in the directory, to sync its filesystem
    /// where the directory can't be read. The target stays locked until the
    /// returned turn is dropped (unless `locked`: the caller holds it).
    pub(crate) fn back_up(
        &self,
        plan: &Plan,
        locked: bool,
        durable: bool,
        via: &File,
    ) -> io::Result<Turn> {
        plan.make(
            &self.dir,
            self.dir_path(),
            &self.name,
            locked,
            durable,
            || self.sync_entries(via),
        )
    }

    /// `fsync` of the directory after the rename, with its message; `via` as
    /// for [`back_up`](Self::back_up).
    pub(crate) fn sync(&self, via: &File) -> io::Result<()> {
        self.sync_entries(via).context(|| {
            format!(
                "renamed into place but failed to sync directory {}",
                self.dir_path().display_quoted()
            )
        })
    }

    /// Makes the directory's entries durable: `fsync` of the directory, or,
    /// where it can't be read (opened `O_PATH`), `syncfs` through `via`
    /// ([`check_durable`](Self::check_durable) made sure that is a full sync
    /// there).
    fn sync_entries(&self, via: &File) -> io::Result<()> {
        if self.dir_readable {
            sys::sync_dir(&self.dir)
        } else {
            sys::sync_fs(via)
        }
    }

    /// `(device, inode)` of the directory.
    pub(crate) fn dir_id(&self) -> io::Result<(u64, u64)> {
        let m = sys::fstat(&self.dir)
            .context(self.what("failed to read metadata of the directory of"))?;
        Ok((m.dev, m.ino))
    }
}

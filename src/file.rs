//! [`AtomicFile`]: a temp file beside the target that replaces it on commit.

use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::append::{self, Held};
use crate::attrs::Xattrs;
use crate::changed::{self, Want};
use crate::error::{self, DisplayQuoted, ResultExt};
use crate::options::{Durability, Options};
use crate::resolve::{self, Resolved};
use crate::sys::{self, errno, Meta, Temp};
use crate::{backup, parents};

/// Times `create()` starts over when an appended target is replaced while it
/// is being opened and locked, before giving up.
const MAX_APPEND_RETRIES: usize = 64;

/// A file being written that replaces its target only on [`commit`](Self::commit).
///
/// Writes go to a temp file in the target's directory; readers of the target
/// see the old content until `commit()` renames the temp over it. Dropping an
/// `AtomicFile` without committing removes the temp and leaves the target as it
/// was; [`discard`](Self::discard) does the same and reports errors.
///
/// `AtomicFile` does no buffering of its own: wrap it in a [`io::BufWriter`]
/// for many small writes. `io::copy` from a [`File`] into
/// [`as_file_mut`](Self::as_file_mut) takes the kernel's copy path.
///
/// ```
/// use std::io::Write;
/// use atomic_write::AtomicFile;
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("data.csv");
/// let mut file = AtomicFile::create(&path)?;
/// writeln!(file, "id,name")?;
/// writeln!(file, "1,ada")?;
/// assert!(!path.exists()); // nothing visible yet
/// file.commit()?;
/// assert_eq!(std::fs::read_to_string(&path)?, "id,name\n1,ada\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Footguns
///
/// What a careful caller cannot see from the types:
///
/// - **Replacing the inner file.** [`as_file_mut`](Self::as_file_mut) lends
///   the temp's `File`; assigning another `File` to it (`*f.as_file_mut() =
///   other`) makes `commit()` set the metadata of and sync *that* inode, and
///   on the `O_TMPFILE` path link it over the target; on the named path the
///   original temp, never synced, is renamed over the target. Write through
///   it; never swap it.
/// - **Your own `sync_all()`.** The kernel reports a writeback error once per
///   open file description: if you call `as_file().sync_all()` (or
///   `sync_data()`) yourself, get an error and ignore it, the `fsync` in
///   `commit()` may then succeed and the commit report `Ok` for data that
///   never reached the disk. Treat an error from your own sync as fatal:
///   drop or [`discard`](Self::discard) the file.
/// - **`fork`.** A forked child has a copy of the `AtomicFile`, but the
///   write belongs to the process that created it: in any other process,
///   dropping or [`discard`](Self::discard)ing it removes nothing (the
///   parent goes on writing and commits). The child's copy of the
///   descriptor keeps the temp's lock, so `sweep` leaves the temp alone while
///   the child lives.
#[must_use = "dropping an AtomicFile discards the write: call commit()"]
pub struct AtomicFile {
    temp: Temp,
    /// The target's directory, open for `*at` calls (and `fsync` if `dir_readable`).
    dir: File,
    /// Whether `dir` can be synced; if not (a `0300` directory, opened
    /// `O_PATH`), the rename is made durable by a `syncfs` through the temp.
    dir_readable: bool,
    /// With `append`: the existing target file under an exclusive `flock`
    /// until the rename, so appenders of one target using this crate take
    /// turns (see `append.rs`).
    lock: Option<Held>,
    /// With `append` and a target missing at `create()`: the options, to
    /// append to the file another appender may have created meanwhile (the
    /// commit then creates it only if it is still missing).
    append_new: Option<Box<Options>>,
    /// [`sys::fork_count`] at `create()`: a fork since then shares the temp's
    /// lock, which the commit must then release explicitly.
    forks: u64,
    /// The temp's metadata read in `create()` for an existing target: reused
    /// at commit unless the descriptor was [`lent`](Self::lent) out since.
    temp_meta: Option<Meta>,
    /// Set once the temp's descriptor was lent out (`as_file`, `as_fd`, …):
    /// its metadata may have changed since `temp_meta`.
    lent: AtomicBool,
    /// The target's directory as an absolute path (where the working
    /// directory has one), for messages only.
    dir_path: PathBuf,
    /// The target: absolute, symlinks at its last component resolved; for
    /// messages and `target()` only, never opened.
    target: PathBuf,
    /// The target's name inside `dir`.
    name: OsString,
    /// `(uid, gid)` to give the file before commit, if any.
    owner: Option<(u32, u32)>,
    /// Permission bits to set before commit, if any.
    mode: Option<u32>,
    /// Whether `mode` is the existing target's rather than an explicit one.
    mode_inherited: bool,
    /// The existing target's extended attributes to give the temp, if kept.
    xattrs: Option<Xattrs>,
    /// [`sys::fork_generation`] of the process that created the temp: only
    /// it removes the temp (a forked child's drop or discard leaves the
    /// parent's write alone).
    generation: u64,
    no_clobber: bool,
    durability: Durability,
    /// The backup's name inside `dir`, with [`Options::backup`].
    backup: Option<OsString>,
}

impl AtomicFile {
    /// Starts replacing `path` with the default [`Options`].
    ///
    /// The temp file is created now, so every error that can be known now is
    /// reported now rather than at `commit()`.
    ///
    /// # Errors
    ///
    /// Each error names the step and the path, and has the kind of its cause:
    ///
    /// - [`NotFound`](io::ErrorKind::NotFound): the parent directory is missing;
    /// - [`IsADirectory`](io::ErrorKind::IsADirectory): the target is a directory;
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput): the target is a FIFO,
    ///   socket or device (never opened: opening a FIFO blocks), or the path is
    ///   empty or contains a NUL byte;
    /// - `FilesystemLoop`: a symlink loop (more than 40 links). That kind
    ///   cannot be named on stable Rust (`io::ErrorKind::FilesystemLoop` is
    ///   unstable); test for it with [`os_error`](crate::os_error):
    ///
    ///   ```
    ///   # #[cfg(unix)]
    ///   # fn main() -> std::io::Result<()> {
    ///   # let dir = tempfile::tempdir()?;
    ///   # let link = dir.path().join("loop");
    ///   std::os::unix::fs::symlink(&link, &link)?; // a link to itself
    ///   let err = atomic_write::AtomicFile::create(&link).unwrap_err();
    ///   assert_eq!(atomic_write::os_error(&err), Some(libc::ELOOP));
    ///   # Ok(())
    ///   # }
    ///   # #[cfg(not(unix))]
    ///   # fn main() {}
    ///   ```
    /// - [`AlreadyExists`](io::ErrorKind::AlreadyExists): with `no_clobber`, the target exists;
    /// - [`PermissionDenied`](io::ErrorKind::PermissionDenied): the directory is not writable;
    /// - [`ReadOnlyFilesystem`](io::ErrorKind::ReadOnlyFilesystem),
    ///   [`StorageFull`](io::ErrorKind::StorageFull), …: from creating the temp.
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<AtomicFile> {
        Options::new().create(path)
    }

    /// A new [`Options`] builder; the same as [`Options::new`].
    pub fn options() -> Options {
        Options::new()
    }

    pub(crate) fn with_options(path: &Path, opts: &Options) -> io::Result<AtomicFile> {
        if let Some(suffix) = &opts.backup {
            backup::check_suffix(suffix)?;
        }
        if opts.create_parents {
            parents::create(path, opts.durability == Durability::Full)?;
        }
        // With `no_clobber`, a symlink at the path, dangling or not, is an
        // existing target (as `O_CREAT|O_EXCL` sees it): never followed.
        let follow = opts.follow_symlinks && !opts.no_clobber;
        let mut tries = 0;
        let (resolved, lock) = loop {
            let r = resolve::resolve(path, follow)?;
            // With no_clobber there is nothing to copy: the target must not exist.
            if !opts.append || opts.no_clobber {
                break (r, None);
            }
            match append::lock_current(&r, opts.lock_timeout)? {
                append::Current::Held(lock) => break (r, Some(lock)),
                append::Current::Unlocked => break (r, None),
                append::Current::Changed => {}
            }
            tries += 1;
            if tries > MAX_APPEND_RETRIES {
                return Err(append::changed(&r.target));
            }
        };
        let Resolved {
            target,
            dir_path,
            name,
            dir,
            dir_readable,
            meta: existing,
        } = resolved;
        // With `follow_symlinks(false)` a link counts as an existing target.
        let occupied = existing.is_some();
        let existing = resolve::check_target(existing, &target)?;
        if opts.no_clobber && occupied {
            return Err(error::os(errno::EEXIST, || {
                format!("refusing to replace {}", target.display_quoted())
            }));
        }
        if !dir_readable
            && opts.durability == Durability::Full
            && !sys::syncfs_trusted(&dir, false).unwrap_or(false)
        {
            return Err(error::os(errno::EACCES, || {
                format!(
                    "cannot make a rename in {} durable: the directory can't be read, so it can't be synced, and syncing its whole filesystem is not known to cover it (Durability::None would skip the sync)",
                    dir_path.display_quoted()
                )
            }));
        }

        // Owner, mode and extended attributes all from one inode: the target
        // opened once, that descriptor `fstat`ed and its attributes listed
        // (two lookups by name would let a directory writer swap the file
        // between them and have its ACL kept with our owner and mode).
        let (existing, xattrs) = match existing {
            Some(m) if opts.preserve_xattrs => {
                let what = || {
                    format!(
                        "failed to read extended attributes of {}",
                        target.display_quoted()
                    )
                };
                match sys::open_source_at(&dir, &name) {
                    Ok((src, by_proc)) => {
                        let now = sys::fstat(&src).context(what)?;
                        if now.kind == sys::FileKind::Regular {
                            // Without `/proc`: the file opened for reading,
                            // which must be the inode just `fstat`ed.
                            let reopen = || {
                                let f = sys::open_read_nofollow_at(&dir, &name)?;
                                let m = sys::fstat(&f)?;
                                if (m.dev, m.ino) != (now.dev, now.ino) {
                                    return Err(error::os(errno::EAGAIN, || {
                                        "the file was replaced while it was read".to_string()
                                    }));
                                }
                                Ok(f)
                            };
                            let xattrs = Xattrs::read(src, by_proc, &target, reopen)?;
                            (Some(now), Some(xattrs))
                        } else {
                            // Swapped for something else since: it has no
                            // attributes of ours to give.
                            (Some(m), Some(Xattrs::default()))
                        }
                    }
                    // Gone since (the rename will create it): nothing to keep.
                    Err(e) if e.raw_os_error() == Some(errno::ENOENT) => {
                        (Some(m), Some(Xattrs::default()))
                    }
                    Err(e) => return Err(error::context(e, what)),
                }
            }
            other => (other, None),
        };

        // The temp is never more permissive than the result while data is
        // being written; the final bits, which may add setuid, come at commit.
        let mode = opts.mode.or(existing.map(|m| m.mode));
        // A new file without an explicit mode: the kernel applies the umask (and
        // any default ACL) exactly as for `open(O_CREAT, 0o666)`; nothing to set later.
        let temp_mode = mode.map_or(0o666, |m| m & 0o777);
        let owner = existing
            .filter(|_| opts.preserve_owner)
            .map(|m| (m.uid, m.gid));

        let name_for_backup = name.clone();
        // A named temp, which others could open by its name, is owner-only
        // (`0600`) until commit gives it its group and bits — unless it gets
        // exactly what a new file would (no mode to set at commit).
        let temp = sys::create_temp(&dir, &name, temp_mode, mode.is_some(), !opts.unnamed_temp)
            .context(|| {
                format!(
                    "failed to create temporary file in {}",
                    dir_path.display_quoted()
                )
            })?;
        let mut file = AtomicFile {
            temp,
            dir,
            dir_readable,
            lock,
            append_new: (opts.append && !opts.no_clobber && existing.is_none())
                .then(|| Box::new(opts.clone())),
            forks: sys::fork_count(),
            temp_meta: None,
            lent: AtomicBool::new(false),
            dir_path,
            target,
            name,
            owner,
            mode,
            mode_inherited: opts.mode.is_none() && existing.is_some(),
            xattrs,
            generation: sys::fork_generation(),
            no_clobber: opts.no_clobber,
            durability: opts.durability,
            backup: opts
                .backup
                .as_deref()
                .map(|s| backup::name(&name_for_backup, s)),
        };
        if let Some(existing) = existing {
            file.check_protected_regular(&existing)?;
            if !opts.force {
                // `access.rs`: refused as `>` refuses it; the caller is the temp's owner.
                let caller = file.temp_meta.map_or(u32::MAX, |m| m.uid);
                let held = file.lock.as_ref().map(|l| &l.file);
                crate::access::check_writable(
                    &file.dir,
                    &file.name,
                    held,
                    &existing,
                    caller,
                    &file.target,
                )?;
            }
        }
        if opts.append && existing.is_some() {
            file.copy_current()?;
        }
        Ok(file)
    }

    /// Reads the temp's metadata (which commit needs anyway) and, where the
    /// existing target is not the caller's (the temp's owner), applies the
    /// kernel's `fs.protected_regular` rule to it.
    fn check_protected_regular(&mut self, existing: &Meta) -> io::Result<()> {
        let now = sys::fstat(&self.temp.file).context(|| {
            format!(
                "failed to read metadata of the temporary file for {}",
                self.target.display_quoted()
            )
        })?;
        self.temp_meta = Some(now);
        if existing.uid != now.uid {
            resolve::check_regular(&self.dir, existing, &self.target)?;
        }
        Ok(())
    }

    /// Fills the temp with the content of the target file held locked (the
    /// very file resolved); cursor at the end.
    fn copy_current(&mut self) -> io::Result<()> {
        let src = self.lock.as_mut().expect("an existing target is held");
        sys::clone_or_copy(&mut src.file, &mut self.temp.file).context(|| {
            format!(
                "failed to copy {} to its temporary file",
                self.target.display_quoted()
            )
        })?;
        Ok(())
    }

    /// The path that [`commit`](Self::commit) replaces: absolute, with any
    /// symlinks at its last component followed (unless `follow_symlinks(false)`).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temp file.
    pub fn as_file(&self) -> &File {
        self.lent.store(true, Ordering::Relaxed);
        &self.temp.file
    }

    /// The temp file, mutably: `io::copy` from a [`File`] into it uses the
    /// kernel's copy path (`copy_file_range` on Linux).
    pub fn as_file_mut(&mut self) -> &mut File {
        self.lent.store(true, Ordering::Relaxed);
        &mut self.temp.file
    }

    pub(crate) fn write_all_context(&mut self, data: &[u8]) -> io::Result<()> {
        self.temp.file.write_all(data).context(|| {
            format!(
                "failed to write temporary file for {}",
                self.target.display_quoted()
            )
        })
    }

    /// Replaces the target with what was written, atomically and durably.
    ///
    /// In order: owner (if an existing target's is kept) → extended
    /// attributes and ACL (see [`Options::preserve_xattrs`]) → permission bits →
    /// `fsync` of the temp → rename over the target (`no_clobber`: a rename
    /// that refuses to replace) → `fsync` of the directory. With
    /// [`Durability::None`] both syncs are skipped.
    ///
    /// # Errors
    ///
    /// A failure before the rename removes the temp and leaves the target
    /// untouched, content and metadata. A failed `fsync` is never retried nor
    /// followed by a rename. A failure to sync the directory after the rename
    /// is an error although the target has the new content: it may not
    /// survive a power cut. With `no_clobber`, an existing target gives
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists).
    ///
    /// # Platform-specific behavior
    ///
    /// On Linux the temp is unnamed (`O_TMPFILE`) until just before the rename,
    /// when `linkat` gives it a hidden random name (with `no_clobber`, `linkat`
    /// gives it the target's name directly, which fails if that exists). Syncs
    /// are `fsync(2)`. On Apple platforms they are `fcntl(F_FULLFSYNC)`, which
    /// also flushes the drive's cache. Elsewhere the temp is named from the
    /// start and syncs are `fsync(2)`.
    pub fn commit(mut self) -> io::Result<()> {
        self.commit_in_place()
    }

    /// [`commit`](Self::commit), then hands back the committed file — the
    /// target's new inode, open for reading and writing, its cursor where the
    /// writes left it — so the caller can go on reading, locking or
    /// `fstat`ing the result without opening it again by path (as tempfile's
    /// `persist` does). The name says what is kept: the file, not the temp.
    ///
    /// The lock that marked the temp as live for [`sweep`](crate::sweep) is
    /// released before the file is returned. The file is the inode that was
    /// committed: if the target is replaced later, it goes on naming this
    /// one. Writes through it after the commit are not atomic and not synced.
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// use atomic_write::AtomicFile;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("state.json");
    /// let mut file = AtomicFile::create(&path)?;
    /// file.write_all(b"{}")?;
    /// let mut done = file.commit_into_file()?;
    /// done.seek(SeekFrom::Start(0))?;
    /// let mut back = String::new();
    /// done.read_to_string(&mut back)?;
    /// assert_eq!(back, "{}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`commit`](Self::commit); before it, failing to duplicate the
    /// descriptor (`EMFILE`) fails with nothing committed. Once committed,
    /// nothing fails: should releasing the lock fail (it does not on any
    /// filesystem we know), the file is returned all the same, and the lock
    /// goes when the file is closed.
    pub fn commit_into_file(mut self) -> io::Result<File> {
        let mut file = match self.temp.file.try_clone() {
            Ok(f) => f,
            Err(e) => {
                let e = error::context(e, || {
                    format!(
                        "failed to duplicate the descriptor of the temporary file for {}",
                        self.target.display_quoted()
                    )
                });
                return Err(self.remove_temp_after(e));
            }
        };
        self.commit_in_place()?;
        // The commit may have copied the data into another temp (see
        // `copy_to_named`): hand back the one committed; the duplicate of the
        // first goes with `self`.
        std::mem::swap(&mut file, &mut self.temp.file);
        // A committed write is not turned into a failure: the lock is only
        // the sign for `sweep` that a writer is alive, and closing the file
        // releases it anyway.
        let _ = sys::unlock(&file);
        Ok(file)
    }

    /// The body of [`commit`](Self::commit).
    fn commit_in_place(&mut self) -> io::Result<()> {
        let left = match self.prepare().and_then(|()| self.publish()) {
            Ok(left) => left,
            Err(e) => return Err(self.remove_temp_after(e)),
        };
        // The next appender may go on: the target is the new file now.
        self.lock = None;
        // The temp's own lock (it marked the temp live for `sweep`) is on the
        // target now: after a fork, released explicitly, as the child
        // sharing the descriptor would keep it past our close.
        if sys::fork_count() != self.forks {
            let _ = sys::unlock(&self.temp.file);
        }
        let synced = self.sync_dir();
        match (left, synced) {
            (None, synced) => synced,
            (Some(left), Ok(())) => Err(error::note(left, || "the directory was synced".into())),
            (Some(left), Err(e)) => Err(error::note(e, || left.to_string())),
        }
    }

    /// Commits only if that would change something, and says whether it did.
    ///
    /// The temp is compared with the current target, streamed in constant
    /// memory (sizes first, then block by block, stopping at the first
    /// difference). If the target is a regular file with the same content,
    /// and the mode (an explicit [`mode`](Options::mode), or that of a file
    /// new at `create()`) and the owner the commit would give it are the
    /// target's own, the target is left untouched — same inode, same
    /// timestamps, no backup made, nothing synced — the temp is discarded, and
    /// this returns `Ok(false)`. Otherwise it is [`commit`](Self::commit) and
    /// returns `Ok(true)`.
    ///
    /// The target compared is the entry the commit would replace: opened
    /// relative to the directory without following a symlink, and checked to
    /// be still there after the compare. A target that cannot be read counts
    /// as changed. An unchanged target is as durable as whoever wrote it made
    /// it. With [`no_clobber`](Options::no_clobber), this is `commit` (an
    /// existing target is an error, not "unchanged").
    ///
    /// ```
    /// use std::io::Write;
    /// use atomic_write::AtomicFile;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("generated.rs");
    /// std::fs::write(&path, "pub const N: u32 = 7;\n")?;
    /// let mut file = AtomicFile::create(&path)?;
    /// writeln!(file, "pub const N: u32 = 7;")?;
    /// assert!(!file.commit_if_changed()?); // same content: not rewritten
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`commit`](Self::commit); an error while comparing (other than not
    /// being allowed to read the target) fails the same way, before the rename.
    pub fn commit_if_changed(mut self) -> io::Result<bool> {
        // An append to a file missing at `create()` always adds something.
        if !self.no_clobber && self.append_new.is_none() {
            match self.unchanged() {
                Ok(true) => {
                    self.discard()?;
                    return Ok(false);
                }
                Ok(false) => {}
                Err(e) => return Err(self.remove_temp_after(e)),
            }
        }
        self.commit().map(|()| true)
    }

    /// Whether the target already is what a commit would make it.
    fn unchanged(&mut self) -> io::Result<bool> {
        self.temp.file.flush()?;
        let now = sys::fstat(&self.temp.file).context(|| {
            format!(
                "failed to read metadata of the temporary file for {}",
                self.target.display_quoted()
            )
        })?;
        let want = Want {
            // An inherited mode and owner are the target's own by definition.
            mode: if self.mode_inherited {
                None
            } else {
                Some(self.mode.unwrap_or(now.mode))
            },
            owner: self.owner.is_none().then_some((now.uid, now.gid)),
            xattrs_kept: self.xattrs.is_some(),
        };
        changed::unchanged(&self.dir, &self.name, &self.temp.file, &want).context(|| {
            format!(
                "failed to compare {} with its new content",
                self.target.display_quoted()
            )
        })
    }

    /// Removes a named temp after a failed commit. If that is refused too (an
    /// append-only directory), the temp stays behind and `err` says so.
    pub(crate) fn remove_temp_after(&mut self, err: io::Error) -> io::Error {
        let Some(tmp) = self.temp.name.take() else {
            return err;
        };
        match sys::unlink(&self.dir, &tmp) {
            Ok(()) => err,
            Err(e) if e.kind() == io::ErrorKind::NotFound => err,
            Err(e) => error::note(err, || {
                format!(
                    "and the temporary file {} was left behind: failed to remove it: {e}",
                    self.dir_path.join(&tmp).display_quoted()
                )
            }),
        }
    }

    /// Owner, attributes, mode and (with full durability) the data sync:
    /// everything before the rename.
    pub(crate) fn prepare(&mut self) -> io::Result<()> {
        self.prepare_metadata()?;
        if self.durability == Durability::Full {
            self.sync_data()?;
        }
        Ok(())
    }

    /// Flush, owner, extended attributes, mode: everything before the rename
    /// but the data sync.
    ///
    /// One `fstat` of the temp (made in `create()` for an existing target,
    /// again here if the descriptor was lent out since) tells which of
    /// `fchown` and `fchmod` would change anything; the others are skipped. `fchown` changes no permission
    /// bit but setuid/setgid (then `fchmod` always runs). An unnamed temp is
    /// reachable only through our descriptor; a named one also by its name, to
    /// its owner and root, who could change it after the `fstat` — as they
    /// could change the target after the commit.
    pub(crate) fn prepare_metadata(&mut self) -> io::Result<()> {
        self.temp.file.flush()?;
        if self.owner.is_none() && self.mode.is_none() && self.xattrs.is_none() {
            return Ok(());
        }
        let now = match self
            .temp_meta
            .filter(|_| !self.lent.load(Ordering::Relaxed))
        {
            Some(meta) => meta,
            None => sys::fstat(&self.temp.file).context(|| {
                format!(
                    "failed to read metadata of the temporary file for {}",
                    self.target.display_quoted()
                )
            })?,
        };
        let mut bits_known = true;
        let mut mode = self.mode;
        if let Some((uid, gid)) = self.owner.filter(|&o| o != (now.uid, now.gid)) {
            let (uid_kept, gid_kept) =
                sys::chown_best_effort(&self.temp.file, uid, gid).context(|| {
                    format!(
                        "failed to set the owner of the temporary file for {}",
                        self.target.display_quoted()
                    )
                })?;
            // chown may clear setuid/setgid, and changes no other bit.
            bits_known = now.mode & 0o6000 == 0;
            // An inherited setuid (setgid) bit is dropped when the owner (group)
            // could not be kept, as `cp -p` and `install` do: a setuid file
            // owned by the writer instead would run as the writer.
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
            if xattrs.apply(&self.temp.file, &self.target)? {
                bits_known = false;
            }
        }
        if let Some(mode) = mode.filter(|&m| !bits_known || m != now.mode) {
            sys::chmod(&self.temp.file, mode).context(|| {
                format!(
                    "failed to set permissions {mode:#o} on the temporary file for {}",
                    self.target.display_quoted()
                )
            })?;
        }
        Ok(())
    }

    /// The commit's durability.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// `fsync` of the temp (data and metadata).
    pub(crate) fn sync_data(&self) -> io::Result<()> {
        sys::sync_file(&self.temp.file).context(|| {
            format!(
                "failed to sync the temporary file for {}",
                self.target.display_quoted()
            )
        })
    }

    /// Puts the temp in the target's place. After `Ok(None)` the temp name is
    /// gone; `Ok(Some(e))`: the target was created, but the temp name stayed
    /// behind as a second link to it (the link-based no-clobber fallback could
    /// not remove it), and `e` says so. Either way the target has the new file.
    pub(crate) fn publish(&mut self) -> io::Result<Option<io::Error>> {
        let mut left = None;
        if let Some(opts) = self.append_new.take() {
            // An append to a file that was missing: create it, unless another
            // appender did meanwhile; then append to that one.
            self.no_clobber = true;
            return match self.publish() {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self.append_to_created(&opts),
                r => r,
            };
        }
        if self.no_clobber {
            if self.temp.name.is_none() {
                match sys::link_unnamed(&self.temp.file, &self.dir, &self.name) {
                    Ok(()) => {}
                    Err(e) if sys::unlinkable(&e) => self.copy_to_named(e)?,
                    Err(e) => {
                        return Err(error::context(e, || {
                            format!("failed to create {}", self.target.display_quoted())
                        }))
                    }
                }
            }
            let target = &self.target;
            let kept = match &self.temp.name {
                None => None,
                Some(tmp) => sys::rename_noreplace(&self.dir, tmp, &self.name)
                    .context(|| format!("failed to create {}", target.display_quoted()))?,
            };
            if let (Some(e), Some(tmp)) = (kept, &self.temp.name) {
                left = Some(error::context(e, || {
                    format!(
                        "created {}, but the temporary file {} was left behind as a second link to it: failed to remove it",
                        self.target.display_quoted(),
                        self.dir_path.join(tmp).display_quoted()
                    )
                }));
            }
        } else {
            if let Some(b) = &self.backup {
                backup::make(
                    &self.dir,
                    &self.dir_path,
                    &self.name,
                    b,
                    self.durability == Durability::Full,
                    || self.sync_dir_entries(),
                )?;
            }
            if self.temp.name.is_none() {
                self.name_temp()?;
            }
            let tmp = self.temp.name.as_ref().expect("named above");
            sys::rename(&self.dir, tmp, &self.name).context(|| {
                format!(
                    "failed to rename {} to {}",
                    self.dir_path.join(tmp).display_quoted(),
                    self.target.display_quoted()
                )
            })?;
        }
        self.temp.name = None;
        Ok(left)
    }

    /// The commit of an append to a file that was missing at `create()`,
    /// which another appender created meanwhile: append to that file, as if
    /// it had existed then (its owner, mode, attributes and content, locked
    /// as `create()` locks it), adding what was written here (all of this
    /// temp: it started empty); this temp is removed, and `self` becomes the
    /// committed write.
    fn append_to_created(&mut self, opts: &Options) -> io::Result<Option<io::Error>> {
        let mut next = AtomicFile::with_options(&self.target, opts)?;
        let copied = self
            .temp
            .file
            .seek(SeekFrom::Start(0))
            .and_then(|_| io::copy(&mut self.temp.file, &mut next.temp.file));
        copied.context(|| {
            format!(
                "failed to copy what was written to a new temporary file for {}, created meanwhile by another appender",
                self.target.display_quoted()
            )
        })?;
        next.prepare()?;
        let left = next.publish()?;
        // `self` (the first temp) is dropped here, its named temp removed.
        std::mem::swap(self, &mut next);
        Ok(left)
    }

    /// Links an unnamed temp under a fresh hidden name, locked first (the
    /// named temp is locked from its creation): a temp with a name is always
    /// locked while its writer lives, which is how [`sweep`](crate::sweep)
    /// tells it from one a killed writer left.
    fn name_temp(&mut self) -> io::Result<()> {
        sys::lock(&self.temp.file).context(|| {
            format!(
                "failed to lock the temporary file for {}",
                self.target.display_quoted()
            )
        })?;
        let mut tries = 0;
        loop {
            let tmp = sys::temp_name(&self.name)?;
            match sys::link_unnamed(&self.temp.file, &self.dir, &tmp) {
                Ok(()) => {
                    self.temp.name = Some(tmp);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
                Err(e) if sys::unlinkable(&e) => return self.copy_to_named(e),
                Err(e) => {
                    return Err(error::context(e, || {
                        format!(
                            "failed to link the temporary file into {}",
                            self.dir_path.display_quoted()
                        )
                    }))
                }
            }
        }
    }

    /// Where this process may not link its unnamed temp (`why`: Linux 6.10+
    /// refuses `linkat(AT_EMPTY_PATH)` once the credentials changed since
    /// the temp was opened, `/proc/self/fd` is closed to such a process or
    /// absent, or a sandbox forbids the call): copies the data into a new
    /// named temp, which takes the unnamed one's place, and prepares it as
    /// the unnamed one was (owner, attributes, mode, data sync). The unnamed
    /// temp's owner and mode are kept where the target had none to keep (a
    /// new file), as far as the process may still give them.
    fn copy_to_named(&mut self, why: io::Error) -> io::Result<()> {
        let failed = |e: io::Error| {
            let why = &why;
            error::note(
                error::context(e, || {
                    format!(
                        "failed to copy the temporary file for {} into a named one",
                        self.target.display_quoted()
                    )
                }),
                || format!("it could not be linked: {why}"),
            )
        };
        let old = sys::fstat(&self.temp.file).map_err(failed)?;
        let mut named = sys::create_named_temp(&self.dir, &self.name, 0o600).map_err(failed)?;
        let tmp = named.name.clone().expect("a named temp");
        let copied = self.temp.file.try_clone().and_then(|mut src| {
            src.seek(SeekFrom::Start(0))?;
            sys::clone_or_copy(&mut src, &mut named.file)
        });
        if let Err(e) = copied {
            let _ = sys::unlink(&self.dir, &tmp);
            return Err(failed(e));
        }
        self.temp = named;
        self.temp_meta = None;
        self.lent.store(false, Ordering::Relaxed);
        self.owner.get_or_insert((old.uid, old.gid));
        self.mode.get_or_insert(old.mode);
        self.prepare()
    }

    /// `fsync` of the directory, after the rename (full durability only).
    ///
    /// A directory that can't be read (opened `O_PATH`) can't be synced; its
    /// filesystem is, through the temp's descriptor (`create()` made sure that
    /// `syncfs` is a full sync there).
    pub(crate) fn sync_dir(&self) -> io::Result<()> {
        if self.durability != Durability::Full {
            return Ok(());
        }
        let what = || {
            format!(
                "renamed into place but failed to sync directory {}",
                self.dir_path.display_quoted()
            )
        };
        self.sync_dir_entries().context(what)
    }

    /// Makes the directory's entries durable: `fsync` of the directory, or,
    /// where it can't be read (opened `O_PATH`), `syncfs` through the temp's
    /// descriptor (`create()` made sure that is a full sync there).
    fn sync_dir_entries(&self) -> io::Result<()> {
        if self.dir_readable {
            sys::sync_dir(&self.dir)
        } else {
            sys::sync_fs(&self.temp.file)
        }
    }

    /// Abandons the write: removes the temp, leaves the target untouched, and
    /// reports a failure to remove the temp (which dropping would ignore).
    ///
    /// # Errors
    ///
    /// The error from removing the named temp, if that failed (for example on a
    /// directory made append-only after the temp was created).
    ///
    /// ```
    /// use std::io::Write;
    /// use atomic_write::AtomicFile;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("settings.toml");
    /// std::fs::write(&path, "old = true\n")?;
    /// let mut file = AtomicFile::create(&path)?;
    /// file.write_all(b"half of the new")?;
    /// file.discard()?; // changed our mind
    /// assert_eq!(std::fs::read_to_string(&path)?, "old = true\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn discard(mut self) -> io::Result<()> {
        match self.temp.name.take().filter(|_| self.is_owner()) {
            Some(tmp) => sys::unlink(&self.dir, &tmp).context(|| {
                format!(
                    "failed to remove temporary file {}",
                    self.dir_path.join(&tmp).display_quoted()
                )
            }),
            None => Ok(()),
        }
    }

    /// Whether this is the process that created the temp (not a forked child).
    fn is_owner(&self) -> bool {
        self.generation == sys::fork_generation()
    }

    /// Whether this is an append to a target missing at `create()`, whose
    /// publication may lock a target created meanwhile.
    pub(crate) fn appends_to_new(&self) -> bool {
        self.append_new.is_some()
    }

    /// Releases the temp's own lock (the sign for `sweep` that it is live),
    /// once it has been published.
    pub(crate) fn release_temp_lock(&self) {
        let _ = sys::unlock(&self.temp.file);
    }

    /// For [`validate_with`](Self::validate_with) (`validate.rs`): the temp,
    /// flushed, owner-only (`0600` until `prepare` gives it its mode) and
    /// named in the directory; returns its path there, through the
    /// directory's real path where the system tells it.
    pub(crate) fn private_path(&mut self) -> io::Result<PathBuf> {
        let what = || {
            format!(
                "failed to make the temporary file for {} readable by a validator",
                self.target.display_quoted()
            )
        };
        self.temp.file.flush().context(what)?;
        let now = sys::fstat(&self.temp.file).context(what)?;
        if now.mode & 0o077 != 0 {
            sys::chmod(&self.temp.file, 0o600).context(what)?;
            self.mode.get_or_insert(now.mode);
        }
        self.temp_meta = None;
        // What was validated is committed or nothing: no appending it to a
        // file another appender creates meanwhile.
        if self.append_new.take().is_some() {
            self.no_clobber = true;
        }
        if self.temp.name.is_none() {
            self.name_temp()?;
        }
        let dir = sys::dir_real_path(&self.dir).unwrap_or_else(|| self.dir_path.clone());
        Ok(dir.join(self.temp.name.as_ref().expect("named above")))
    }

    /// The temp file, for the crate's own use (not lent out).
    pub(crate) fn temp_file(&self) -> &File {
        &self.temp.file
    }

    /// The directory the temp lives in (and the target).
    pub(crate) fn dir(&self) -> &File {
        &self.dir
    }
}

impl Drop for AtomicFile {
    /// Removes a named temp, quietly; never syncs, never panics. In a forked
    /// child (any process but the creator) it removes nothing.
    fn drop(&mut self) {
        if let Some(tmp) = self.temp.name.take().filter(|_| self.is_owner()) {
            let _ = sys::unlink(&self.dir, &tmp);
        }
    }
}

impl fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .field("temp", &self.temp.name)
            .field("file", &self.temp.file)
            .finish()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.file.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.temp.file.write_vectored(bufs)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.temp.file.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.file.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.temp.file.seek(pos)
    }
}

/// Reads back what was written (the temp is open for reading and writing);
/// [`seek`](Seek::seek) first, the cursor is shared with writes.
impl Read for AtomicFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.temp.file.read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.temp.file.read_vectored(bufs)
    }
}

/// As `&File`: I/O through a shared reference, for callers that hold the
/// `AtomicFile` in an `Arc` or lend it out.
impl Write for &AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.temp.file).write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&self.temp.file).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&self.temp.file).flush()
    }
}

impl Read for &AtomicFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.temp.file).read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&self.temp.file).read_vectored(bufs)
    }
}

impl Seek for &AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&self.temp.file).seek(pos)
    }
}

/// `AtomicFile` may be moved to and shared with other threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AtomicFile>();
};

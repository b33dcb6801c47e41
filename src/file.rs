//! [`AtomicFile`]: a temp file beside the target that replaces it on commit.

use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{self, ResultExt};
use crate::options::{Durability, Options};
use crate::resolve::{self, Resolved};
use crate::sys::{self, FileKind, Meta, Temp};

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
pub struct AtomicFile {
    temp: Temp,
    /// The target's directory, open for `*at` calls (and `fsync` if `dir_readable`).
    dir: File,
    /// Whether `dir` can be synced; if not (a `0300` directory, opened
    /// `O_PATH`), the rename is made durable by a `syncfs` through the temp.
    dir_readable: bool,
    /// With `append`: the target file (or, for a missing target, the
    /// directory) under an exclusive `flock` until the rename, so appenders
    /// of one target using this crate take turns.
    lock: Option<File>,
    /// The temp's metadata read in `create()`, while nobody else has had its
    /// descriptor: reused at commit unless [`Self::lent`].
    temp_meta: Option<Meta>,
    /// Set once the temp's descriptor was lent out (`as_file`, `as_fd`, …):
    /// its metadata may have changed since `temp_meta`.
    lent: AtomicBool,
    /// The target's directory as an absolute path, for messages.
    dir_path: PathBuf,
    /// The target: absolute, symlinks at its last component resolved.
    target: PathBuf,
    /// The target's name inside `dir`.
    name: OsString,
    /// `(uid, gid)` to give the file before commit, if any.
    owner: Option<(u32, u32)>,
    /// Permission bits to set before commit, if any.
    mode: Option<u32>,
    /// Whether `mode` is the existing target's rather than an explicit one.
    mode_inherited: bool,
    no_clobber: bool,
    durability: Durability,
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
    /// - [`FilesystemLoop`](io::ErrorKind::FilesystemLoop): a symlink loop;
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
            if let Some(lock) = lock_current(&r)? {
                break (r, Some(lock));
            }
            tries += 1;
            if tries > MAX_APPEND_RETRIES {
                return Err(changed(&r.target));
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
            return Err(error::os(libc::EEXIST, || {
                format!("refusing to replace {}", target.display_quoted())
            }));
        }
        if !dir_readable
            && opts.durability == Durability::Full
            && !sys::syncfs_trusted(&dir).unwrap_or(false)
        {
            return Err(error::os(libc::EACCES, || {
                format!(
                    "cannot make a rename in {} durable: the directory can't be read, so it can't be synced, and syncing its whole filesystem is not known to cover it (Durability::None would skip the sync)",
                    dir_path.display_quoted()
                )
            }));
        }

        // The temp is never more permissive than the result while data is
        // being written; the final bits, which may add setuid, come at commit.
        let mode = opts.mode.or(existing.map(|m| m.mode));
        // A new file without an explicit mode: the kernel applies the umask (and
        // any default ACL) exactly as for `open(O_CREAT, 0o666)`; nothing to set later.
        let temp_mode = mode.map_or(0o666, |m| m & 0o777);
        let owner = existing
            .filter(|_| opts.preserve_owner)
            .map(|m| (m.uid, m.gid));

        // A named temp, which others could open by name, is owner-only
        // (`0600`) until commit gives it its group and bits — unless it gets
        // exactly what a new file would (no mode to set at commit).
        let temp = sys::create_temp(
            &dir,
            &name,
            temp_mode,
            mode.is_some(),
            opts.force_named_temp,
        )
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
            temp_meta: None,
            lent: AtomicBool::new(false),
            dir_path,
            target,
            name,
            owner,
            mode,
            mode_inherited: opts.mode.is_none() && existing.is_some(),
            no_clobber: opts.no_clobber,
            durability: opts.durability,
        };
        if let Some(existing) = existing {
            file.check_protected_regular(&existing)?;
        }
        if opts.append && existing.is_some() {
            file.copy_current()?;
        }
        Ok(file)
    }

    /// Reads the temp's metadata (which commit needs anyway) and, where the
    /// existing target is not the caller's, applies the kernel's
    /// `fs.protected_regular` rule to it: the temp is owned by the caller.
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

    /// Fills the temp with the content of the target file held locked; cursor at the end.
    fn copy_current(&mut self) -> io::Result<()> {
        let src = self.lock.as_mut().expect("an existing target is held");
        sys::clone_or_copy(src, &mut self.temp.file).context(|| {
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
    /// In order: owner (if an existing target's is kept) → permission bits →
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
        if let Err(e) = self.prepare().and_then(|()| self.publish()) {
            return Err(self.remove_temp_after(e));
        }
        self.lock = None;
        self.sync_dir()
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

    /// Owner, mode and (with full durability) the data sync: everything before the rename.
    pub(crate) fn prepare(&mut self) -> io::Result<()> {
        self.prepare_metadata()?;
        if self.durability == Durability::Full {
            self.sync_data()?;
        }
        Ok(())
    }

    /// Flush, owner, mode: everything before the rename but the data sync.
    ///
    /// One `fstat` of the temp (made in `create()` for an existing target, again
    /// here if the descriptor was lent out since) tells which of `fchown` and
    /// `fchmod` would change anything; the others are skipped. That is exact,
    /// not a guess: the temp is reachable only through our descriptor (a named
    /// temp is owner-only), and `fchown` changes no permission bit but
    /// setuid/setgid (then `fchmod` always runs).
    pub(crate) fn prepare_metadata(&mut self) -> io::Result<()> {
        self.temp.file.flush()?;
        if self.owner.is_none() && self.mode.is_none() {
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

    /// Puts the temp in the target's place. After `Ok`, the temp is gone.
    pub(crate) fn publish(&mut self) -> io::Result<()> {
        if self.no_clobber {
            let target = &self.target;
            match &self.temp.name {
                None => sys::link_unnamed(&self.temp.file, &self.dir, &self.name),
                Some(tmp) => sys::rename_noreplace(&self.dir, tmp, &self.name),
            }
            .context(|| format!("failed to create {}", target.display_quoted()))?;
        } else {
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
        Ok(())
    }

    /// Links an unnamed temp under a fresh hidden name.
    fn name_temp(&mut self) -> io::Result<()> {
        let mut tries = 0;
        loop {
            let tmp = sys::temp_name(&self.name)?;
            match sys::link_unnamed(&self.temp.file, &self.dir, &tmp) {
                Ok(()) => {
                    self.temp.name = Some(tmp);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
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
        if self.dir_readable {
            return sys::sync_dir(&self.dir).context(what);
        }
        match sys::sync_fs(&self.temp.file).context(what)? {
            true => Ok(()),
            false => Err(error::context(
                io::Error::from(io::ErrorKind::Unsupported),
                what,
            )),
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
        match self.temp.name.take() {
            Some(tmp) => sys::unlink(&self.dir, &tmp).context(|| {
                format!(
                    "failed to remove temporary file {}",
                    self.dir_path.join(&tmp).display_quoted()
                )
            }),
            None => Ok(()),
        }
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
    /// Removes a named temp, quietly; never syncs, never panics.
    fn drop(&mut self) {
        if let Some(tmp) = self.temp.name.take() {
            let _ = sys::unlink(&self.dir, &tmp);
        }
    }
}

impl fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .field("temp", &self.temp.name)
            .field("fd", &self.temp.file.as_raw_fd())
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

impl AsFd for AtomicFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.lent.store(true, Ordering::Relaxed);
        self.temp.file.as_fd()
    }
}

impl AsRawFd for AtomicFile {
    fn as_raw_fd(&self) -> RawFd {
        self.lent.store(true, Ordering::Relaxed);
        self.temp.file.as_raw_fd()
    }
}

/// For `append`: opens the resolved target without following links, checks
/// it is the very file resolved (same device and inode, regular) and takes an
/// exclusive `flock` on it, then checks that the path still names it (another
/// appender may have renamed its result over it while we waited). A missing
/// target: the directory is locked instead, and must still lack it.
/// `Ok(None)`: the target was replaced meanwhile; resolve again.
fn lock_current(r: &Resolved) -> io::Result<Option<File>> {
    let open_err = |e| {
        error::context(e, || {
            format!("failed to open {} to append", r.target.display_quoted())
        })
    };
    let same = |a: &Meta, b: &Meta| (a.dev, a.ino) == (b.dev, b.ino);
    let Some(meta) = r.meta else {
        if !r.dir_readable {
            // An `O_PATH` descriptor can't be locked: appenders to a new file
            // in a `0300` directory are not serialised.
            return Ok(Some(sys::open_dir_at(Some(&r.dir), Path::new("."))?.0));
        }
        let lock = sys::open_dir_at(Some(&r.dir), Path::new("."))
            .and_then(|(d, _)| sys::lock_exclusive(&d).map(|()| d))
            .map_err(open_err)?;
        let now = sys::stat_at(&r.dir, &r.name).map_err(open_err)?;
        return Ok(now.is_none().then_some(lock));
    };
    match meta.kind {
        FileKind::Regular => {}
        FileKind::Symlink => {
            return Err(error::context(
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "appending to a symlink without following it would drop the content it names",
                ),
                || format!("cannot append to {}", r.target.display_quoted()),
            ))
        }
        // `check_target` reports these.
        _ => return Ok(Some(r.dir.try_clone().map_err(open_err)?)),
    }
    let src = match sys::open_nofollow_at(&r.dir, &r.name) {
        Ok(f) => f,
        // Removed meanwhile: start over (it is a new file now).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A symlink (`ELOOP`) or something else now: not what was resolved.
        Err(_) => return Err(changed(&r.target)),
    };
    let opened = sys::fstat(&src).map_err(open_err)?;
    if opened.kind != FileKind::Regular {
        return Err(changed(&r.target));
    }
    if !same(&opened, &meta) {
        // Another regular file: resolve again, so owner, mode and content
        // all come from the one file.
        return Ok(None);
    }
    sys::lock_exclusive(&src).map_err(open_err)?;
    match sys::stat_at(&r.dir, &r.name).map_err(open_err)? {
        Some(now) if same(&now, &meta) => Ok(Some(src)),
        _ => Ok(None),
    }
}

/// The target was swapped for something else between resolving and opening it.
fn changed(target: &Path) -> io::Error {
    error::context(
        io::Error::other("the target changed while opening it"),
        || format!("failed to open {} to append", target.display_quoted()),
    )
}

/// `"path"` with the quotes and escapes of `Debug`, as std's errors show paths.
pub(crate) trait DisplayQuoted {
    fn display_quoted(&self) -> String;
}

impl DisplayQuoted for Path {
    fn display_quoted(&self) -> String {
        format!("{:?}", self)
    }
}

/// See [`crate::sweep`].
pub(crate) fn sweep(dir: &Path, min_age: std::time::Duration) -> io::Result<usize> {
    let abs =
        std::path::absolute(dir).context(|| format!("invalid path {}", dir.display_quoted()))?;
    let dir_fd = sys::open_dir(&abs)
        .context(|| format!("failed to open directory {}", abs.display_quoted()))?;
    let entries = std::fs::read_dir(&abs)
        .context(|| format!("failed to read directory {}", abs.display_quoted()))?;
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry =
            entry.context(|| format!("failed to read directory {}", abs.display_quoted()))?;
        let name = entry.file_name();
        if !sys::is_temp_name(&name) {
            continue;
        }
        let path = abs.join(&name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(error::context(e, || {
                    format!("failed to read metadata of {}", path.display_quoted())
                }))
            }
        };
        let old_enough = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= min_age);
        if !meta.file_type().is_file() || !old_enough {
            continue;
        }
        match sys::unlink(&dir_fd, &name) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(error::context(e, || {
                    format!(
                        "failed to remove stale temporary file {}",
                        path.display_quoted()
                    )
                }))
            }
        }
    }
    Ok(removed)
}

/// `AtomicFile` may be moved to and shared with other threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AtomicFile>();
};

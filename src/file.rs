//! [`AtomicFile`]: a temp file beside the target that replaces it on commit.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::append::Held;
use crate::changed;
use crate::commit;
use crate::error::{self, DisplayQuoted, ResultExt};
use crate::inherit::Inherit;
use crate::options::{Durability, Options};
use crate::sys;
use crate::target::Target;
use crate::temp::Temp;

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
    /// The target: its directory, open, and its name there.
    pub(crate) target: Target,
    /// The temp file the write goes to.
    pub(crate) temp: Temp,
    /// Owner, mode and attributes the temp gets at commit.
    pub(crate) inherit: Inherit,
    /// With `append`: the existing target file under an exclusive `flock`
    /// until the rename, so appenders of one target using this crate take
    /// turns (see `append.rs`).
    pub(crate) lock: Option<Held>,
    /// With `append` and a target missing at `create()`: the options, to
    /// append to the file another appender may have created meanwhile (the
    /// commit then creates it only if it is still missing).
    pub(crate) append_new: Option<Box<Options>>,
    /// The backup to make at commit, with [`Options::backup_kind`].
    pub(crate) backup: Option<crate::backup_name::Plan>,
    pub(crate) no_clobber: bool,
    pub(crate) durability: Durability,
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

    /// The path that [`commit`](Self::commit) replaces: absolute, with any
    /// symlinks at its last component followed (unless `follow_symlinks(false)`).
    pub fn target(&self) -> &Path {
        self.target.path()
    }

    /// The temp file.
    pub fn as_file(&self) -> &File {
        self.temp.lend()
    }

    /// The temp file, mutably: `io::copy` from a [`File`] into it uses the
    /// kernel's copy path (`copy_file_range` on Linux).
    pub fn as_file_mut(&mut self) -> &mut File {
        self.temp.lend_mut()
    }

    /// The permission bits the result will get: those given with
    /// [`Options::mode`] or [`set_mode`](Self::set_mode), else the existing
    /// target's, else a new file's (what the system gave the temp: `0o666`
    /// minus the umask, or what the directory's default ACL gives). For a
    /// mode relative to that one, as `chmod u+x` makes it.
    pub fn mode(&mut self) -> io::Result<u32> {
        match self.inherit.mode() {
            Some(mode) => Ok(mode),
            None => Ok(self.temp.meta(&self.target)?.mode),
        }
    }

    /// Sets the permission bits of the result (`& 0o7777`), as
    /// [`Options::mode`] does before `create`. On Unix a temp that others
    /// may read now and the result won't let them is narrowed at once.
    pub fn set_mode(&mut self, mode: u32) -> io::Result<()> {
        self.inherit.set_mode(mode & 0o7777);
        #[cfg(unix)]
        {
            let now = self.temp.meta(&self.target)?.mode;
            let narrowed = now & (mode | 0o700);
            if narrowed != now {
                // `lend`: the temp's cached metadata is read again at commit.
                sys::chmod(self.temp.lend(), narrowed).context(
                    self.target
                        .what("failed to set permissions on the temporary file for"),
                )?;
            }
        }
        Ok(())
    }

    pub(crate) fn write_all_context(&mut self, data: &[u8]) -> io::Result<()> {
        let what = self.target.what("failed to write temporary file for");
        self.temp.file_mut().write_all(data).context(what)
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
        commit::commit_one(&mut self)
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
        let mut file = match self.temp.file().try_clone() {
            Ok(f) => f,
            Err(e) => {
                let e = error::context(
                    e,
                    self.target
                        .what("failed to duplicate the descriptor of the temporary file for"),
                );
                return Err(self.remove_temp_after(e));
            }
        };
        commit::commit_one(&mut self)?;
        // The commit may have copied the data into another temp (see
        // `Temp::copy_to_named`): hand back the one committed; the duplicate
        // of the first goes with `self`.
        std::mem::swap(&mut file, self.temp.file_mut());
        // A committed write is not turned into a failure: the lock is only
        // the sign for `sweep` that a writer is alive, and closing the file
        // releases it anyway.
        let _ = sys::unlock(&file);
        Ok(file)
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
        self.temp.file_mut().flush()?;
        let want = self.inherit.want(&self.temp.meta(&self.target)?);
        changed::unchanged(
            self.target.dir(),
            self.target.name(),
            self.temp.file(),
            &want,
        )
        .context(|| {
            format!(
                "failed to compare {} with its new content",
                self.target.path().display_quoted()
            )
        })
    }

    /// Removes a named temp after a failed write. If that is refused too (an
    /// append-only directory), the temp stays behind and `err` says so.
    pub(crate) fn remove_temp_after(&mut self, err: io::Error) -> io::Error {
        self.temp.remove_after(&self.target, err)
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
        self.temp.remove(&self.target)
    }

    /// The temp file, for the command line's own use (not lent out; the
    /// Unix CLI's: Windows' writes through `Write`).
    #[cfg(all(unix, feature = "cli"))]
    pub(crate) fn temp_file(&self) -> &File {
        self.temp.file()
    }
}

impl Drop for AtomicFile {
    /// Removes a named temp, quietly; never syncs, never panics. In a forked
    /// child (any process but the creator) it removes nothing.
    fn drop(&mut self) {
        self.temp.remove_quietly(&self.target);
    }
}

impl fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target.path())
            .field("temp", &self.temp.name())
            .field("file", self.temp.file())
            .finish()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.file_mut().write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.temp.file_mut().write_vectored(bufs)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.temp.file_mut().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.file_mut().flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.temp.file_mut().seek(pos)
    }
}

/// Reads back what was written (the temp is open for reading and writing);
/// [`seek`](Seek::seek) first, the cursor is shared with writes.
impl Read for AtomicFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.temp.file_mut().read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.temp.file_mut().read_vectored(bufs)
    }
}

/// As `&File`: I/O through a shared reference, for callers that hold the
/// `AtomicFile` in an `Arc` or lend it out.
impl Write for &AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.file().write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.temp.file().write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.file().flush()
    }
}

impl Read for &AtomicFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.temp.file().read(buf)
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.temp.file().read_vectored(bufs)
    }
}

impl Seek for &AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.temp.file().seek(pos)
    }
}

/// `AtomicFile` may be moved to and shared with other threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AtomicFile>();
};

//! [`Options`]: how a write treats modes, owners, symlinks, existing targets and
//! durability.

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::{AtomicFile, Backup};

/// How much a commit waits for the storage.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// The default: once `commit()` returns `Ok`, the new content survives power
    /// loss. The temp's data and metadata are synced before the rename and the
    /// directory after it (`F_FULLFSYNC` on Apple platforms).
    #[default]
    Full,
    /// No syncs at all. Readers and a crash of *this process* still see the old
    /// or the new content, never a mix; a power cut or kernel crash can leave an
    /// empty or old file. For scratch data, caches and tests.
    None,
}

/// Options for a write, a non-consuming builder like [`tempfile::Builder`].
///
/// ```
/// use atomic_write::{Durability, Options};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("script.sh");
/// Options::new()
///     .mode(0o755)
///     .durability(Durability::Full)
///     .write_text(&path, "#!/bin/sh\necho hi\n")?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`tempfile::Builder`]: https://docs.rs/tempfile/latest/tempfile/struct.Builder.html
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) mode: Option<u32>,
    pub(crate) preserve_owner: bool,
    pub(crate) preserve_xattrs: bool,
    pub(crate) no_clobber: bool,
    pub(crate) durability: Durability,
    pub(crate) follow_symlinks: bool,
    pub(crate) append: bool,
    pub(crate) lock_timeout: Duration,
    pub(crate) create_parents: bool,
    pub(crate) backup: Option<Backup>,
    pub(crate) unnamed_temp: bool,
    pub(crate) force: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: None,
            preserve_owner: true,
            preserve_xattrs: true,
            no_clobber: false,
            durability: Durability::Full,
            follow_symlinks: true,
            append: false,
            lock_timeout: crate::append::DEFAULT_LOCK_TIMEOUT,
            create_parents: false,
            backup: None,
            unnamed_temp: true,
            force: false,
        }
    }
}

impl Options {
    /// The defaults: keep an existing target's mode and owner, replace an
    /// existing target, full durability, follow symlinks, start empty.
    pub fn new() -> Options {
        Options::default()
    }

    /// The exact permission bits of the result, as `chmod` sets them: the umask
    /// is not applied, setuid/setgid/sticky (`0o7000`) are honoured.
    ///
    /// Without it, an existing target's bits are kept (setuid and setgid
    /// included) and a new file gets `0o666 & !umask`.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode & 0o7777);
        self
    }

    /// Keep an existing target's owner and group (default `true`).
    ///
    /// Best effort: where the process may not give the file away (only root
    /// may), it keeps the group if it can and otherwise leaves the new file
    /// owned by the writer, without an error (`fchown` refused with `EPERM`;
    /// any other failure, such as `EIO`, is an error). An existing target's setuid (setgid) bit is
    /// then not carried over to a file whose owner (group) differs from the
    /// target's, as `cp -p` does; an explicit [`mode`](Self::mode) is applied
    /// as given.
    pub fn preserve_owner(&mut self, yes: bool) -> &mut Self {
        self.preserve_owner = yes;
        self
    }

    /// Keep an existing target's extended attributes (default `true`): its
    /// POSIX access ACL, security labels (`security.selinux`, …), `trusted.*`
    /// and `user.*`, byte for byte, so the replacement is the same file to the
    /// system. With `false` the result is a bare file, as a new one would be:
    /// the directory's default ACL and the policy's label for new files.
    ///
    /// Best effort as [`preserve_owner`](Self::preserve_owner): an attribute
    /// the process may not set (`trusted.*` and `security.*` need privileges)
    /// is skipped; any other failure fails the write before the rename, naming
    /// the attribute. Never kept: `security.capability` (the kernel drops file
    /// capabilities on any write), `security.ima` and `security.evm` (hashes
    /// of the old content). The ACL and the mode agree as `chmod` makes them:
    /// an explicit [`mode`](Self::mode) sets the ACL's mask from its group bits.
    ///
    /// # Platform-specific behavior
    ///
    /// Linux only, for now; elsewhere nothing is copied.
    pub fn preserve_xattrs(&mut self, yes: bool) -> &mut Self {
        self.preserve_xattrs = yes;
        self
    }

    /// Fail with [`io::ErrorKind::AlreadyExists`] if the target exists (default
    /// `false`). Checked early in `create()` and again, race-free, at commit:
    /// of several writers racing to create one path exactly one succeeds. A
    /// symlink at the path, dangling or not, counts as existing and is not
    /// followed (`O_CREAT|O_EXCL` semantics, as bash's `noclobber`).
    ///
    /// ```
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("lock");
    /// Options::new().no_clobber(true).write_bytes(&path, b"first")?;
    /// let err = Options::new().no_clobber(true).write_bytes(&path, b"second").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// assert_eq!(std::fs::read(&path)?, b"first");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn no_clobber(&mut self, yes: bool) -> &mut Self {
        self.no_clobber = yes;
        self
    }

    /// How durable a successful commit is; see [`Durability`].
    pub fn durability(&mut self, durability: Durability) -> &mut Self {
        self.durability = durability;
        self
    }

    /// Follow a symlink at the target path to the file it names (default
    /// `true`), so the link stays a link. With `false` the link itself is
    /// replaced by a regular file.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> std::io::Result<()> {
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let (real, link) = (dir.path().join("real"), dir.path().join("link"));
    /// std::fs::write(&real, "old")?;
    /// std::os::unix::fs::symlink(&real, &link)?;
    /// Options::new().write_text(&link, "through the link")?;
    /// assert!(link.symlink_metadata()?.file_type().is_symlink());
    /// assert_eq!(std::fs::read_to_string(&real)?, "through the link");
    ///
    /// Options::new().follow_symlinks(false).write_text(&link, "replaced")?;
    /// assert!(link.symlink_metadata()?.file_type().is_file());
    /// assert_eq!(std::fs::read_to_string(&real)?, "through the link");
    /// # Ok(())
    /// # }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn follow_symlinks(&mut self, yes: bool) -> &mut Self {
        self.follow_symlinks = yes;
        self
    }

    /// Start from a copy of the target's current content, with the cursor at
    /// its end (default `false`). A missing target starts empty. The copy uses
    /// a reflink where the filesystem can, else the kernel's copy path.
    ///
    /// The content copied is that of the very file resolved: it is opened
    /// without following a link or blocking, and must be the same regular
    /// file (device and inode), else `create()` fails with "the target changed
    /// while opening it". Appenders of one target that use this crate take
    /// turns: each holds an exclusive `flock` on the current target from
    /// `create()` until its rename, so none loses another's append. A target
    /// missing at `create()` is not locked (appenders of different new files
    /// never wait for each other): the commit creates it only if it is still
    /// missing, and if another appender created it meanwhile, appends to that
    /// file instead (locked, as above). In one process, a second appender of
    /// a file that another thread's appender holds waits for it; one that
    /// this thread holds fails at once with [`WouldBlock`](io::ErrorKind::WouldBlock)
    /// (the thread would wait for itself). Every wait is bounded by
    /// [`lock_timeout`](Self::lock_timeout). The lock is released at the
    /// commit or drop, also for a forked child that shares the descriptor.
    /// Writers that don't use the crate are not serialised with them. With [`follow_symlinks(false)`](Self::follow_symlinks),
    /// a symlink at the path is refused ([`InvalidInput`](io::ErrorKind::InvalidInput)):
    /// replacing it would drop the content it names.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> std::io::Result<()> {
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("log.txt");
    /// std::fs::write(&path, "line 1\n")?;
    /// Options::new().append(true).write_text(&path, "line 2\n")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "line 1\nline 2\n");
    /// # Ok(())
    /// # }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn append(&mut self, yes: bool) -> &mut Self {
        self.append = yes;
        self
    }

    /// How long an [`append`](Self::append) waits for the lock on its target
    /// (default 10 seconds; [`Duration::ZERO`]: don't wait; [`Duration::MAX`]:
    /// wait for as long as it takes).
    ///
    /// The lock is held by another appender until its commit (or drop): in
    /// another process, or on another thread of this one. After the timeout
    /// `create()` fails with [`WouldBlock`](io::ErrorKind::WouldBlock) (raw OS
    /// error `EAGAIN`) and nothing written; the message names the file and,
    /// where `/proc/locks` tells, the holder's pid. Anyone who may read the
    /// file can `flock` it (`flock -s FILE sleep 1d`) and so hold appenders
    /// up: for this long, never more.
    ///
    /// ```
    /// # #[cfg(unix)] // Windows: an append needs the POSIX rename (README)
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("log.txt");
    /// std::fs::write(&path, "line 1\n")?;
    /// let mut opts = Options::new();
    /// opts.append(true).lock_timeout(Duration::ZERO);
    /// let first = opts.create(&path)?;
    /// // The same thread holds it: fails at once, whatever the timeout.
    /// let err = opts.create(&path).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// first.commit()?;
    /// opts.write_text(&path, "line 2\n")?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn lock_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.lock_timeout = timeout;
        self
    }

    /// Create the missing directories on the way to the target (default
    /// `false`), as `mkdir -p` does: mode `0o777` minus the umask, plus `u+wx`
    /// where the umask took those away (under `umask 0277` a new directory
    /// is `0700`, so the next one and the file can be created in it), an existing
    /// directory (or symlink to one) is fine, and so is another process
    /// creating the same directory at the same time.
    ///
    /// Each new directory is made durable: its parent is synced right after
    /// it is created, top down, so once [`commit`](AtomicFile::commit)
    /// returns `Ok` (with [`Durability::Full`]) the whole path survives a
    /// power cut, not only the file. Directories that already existed are
    /// taken as they are. Under a parent the process may write and search but
    /// not read (`0300`), which can't be synced, the new directory is made
    /// durable by a sync of the whole filesystem where that is known to cover
    /// it (as the commit itself does there), else it is an error.
    ///
    /// The directories are created by [`create`](Self::create), before the
    /// temp file, and stay if the write then fails or is discarded (as with
    /// `mkdir -p && …`). A component that exists but is not a directory fails
    /// with [`NotADirectory`](io::ErrorKind::NotADirectory) and nothing is
    /// created. Only the path as given is created: with
    /// [`follow_symlinks`](Self::follow_symlinks), a symlink at the target
    /// must point into an existing directory. Symlinks in the middle of the
    /// path are followed, as the kernel follows them, also with
    /// `follow_symlinks(false)`, which concerns the last component only.
    ///
    /// ```
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("etc/app/conf.d/10-local.toml");
    /// Options::new().create_parents(true).write_text(&path, "debug = true\n")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "debug = true\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_parents(&mut self, yes: bool) -> &mut Self {
        self.create_parents = yes;
        self
    }

    /// Keep the version being replaced as a backup named after the target
    /// followed by `suffix` (`config.toml` → `config.toml~` with `"~"`), as
    /// `install -b`, `cp --backup` and `sed -i.bak` do, but crash-safely.
    ///
    /// At commit, just before the rename, the current target gets a second
    /// name (a hard link: the backup *is* the old file, with its mode, owner,
    /// extended attributes and timestamps), which is renamed over the previous
    /// backup and made durable; then the target is replaced. Whatever the
    /// moment of a crash, the directory holds the old target with the
    /// previous backup, the old target with the old content as backup, or
    /// the new target with the old content as backup: never a partial
    /// backup, and never, once `commit` returned `Ok`, a new target without
    /// its backup. Where the hard link is refused (a filesystem without them,
    /// or `fs.protected_hardlinks` for a file the writer may read but not
    /// write), the backup is a synced copy with the old file's content, the
    /// extended attributes a replacement keeps, its mode, and its owner where
    /// the process may set it (if not, without setuid/setgid, as `cp -p`);
    /// not its timestamps.
    ///
    /// No backup is made when there is no target, with
    /// [`no_clobber`](Self::no_clobber) (which never replaces anything), or
    /// when [`commit_if_changed`](AtomicFile::commit_if_changed) finds the
    /// content unchanged (the target and its backup are left as they are).
    /// With `follow_symlinks(false)` and a symlink at the target, the backup
    /// is that symlink. [`commit_all`](crate::commit_all) backs up each file
    /// just before its own rename.
    ///
    /// # Errors
    ///
    /// [`create`](Self::create) fails with
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if `suffix` is empty or
    /// contains `/` or a NUL byte. Failing to make the backup fails the commit
    /// before the rename: the target is untouched (the backup may already be
    /// its current content).
    ///
    /// ```
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("app.conf");
    /// std::fs::write(&path, "v1")?;
    /// Options::new().backup("~").write_text(&path, "v2")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "v2");
    /// assert_eq!(std::fs::read_to_string(dir.path().join("app.conf~"))?, "v1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// The same as `backup_kind(Backup::simple(suffix))`; for numbered
    /// backups (`config.toml.~1~`, `.~2~`, …) see
    /// [`backup_kind`](Self::backup_kind).
    pub fn backup<S: AsRef<OsStr>>(&mut self, suffix: S) -> &mut Self {
        self.backup_kind(Backup::simple(suffix))
    }

    /// Keep the version being replaced as a backup of this kind, as `cp`,
    /// `mv` and `install` do with `--backup=CONTROL` (`None`: no backup, the
    /// default):
    ///
    /// - [`Backup::Simple`]`(suffix)`: the target's name followed by
    ///   `suffix`, replacing the previous backup ([`backup`](Self::backup));
    /// - [`Backup::Numbered`]: `NAME.~N~`, N one more than the highest of
    ///   the target's numbered backups in its directory (`.~1~`, `.~2~`, …;
    ///   after `.~1~` and `.~5~` comes `.~6~`), never replacing one;
    /// - [`Backup::Existing`]`(suffix)`: numbered if the target has numbered
    ///   backups already, else simple (coreutils' default for `-b`).
    ///
    /// Each is made as [`backup`](Self::backup) describes: a hard link of the
    /// old file (or a synced copy where links are refused) under a hidden
    /// name, moved to the backup's name and made durable before the target
    /// is replaced. A numbered backup is moved there with
    /// `renameat2(RENAME_NOREPLACE)` (or `link`), so it never replaces a
    /// backup another writer made meanwhile: the next number is taken.
    ///
    /// Writers of one target that make backups take turns: from the backup
    /// to its rename a writer holds an exclusive `flock` on the target (the
    /// one [`append`](Self::append) takes), so each backup is the version
    /// its own write replaced, and concurrent writers with
    /// [`Backup::Numbered`] lose no version. The wait for that lock is
    /// bounded by [`lock_timeout`](Self::lock_timeout). A target the writer
    /// cannot open for reading is backed up without it.
    ///
    /// # Platform-specific behavior
    ///
    /// On Windows writers don't take turns (a file held open there can't be
    /// renamed over): two writers of one target at once may back up the same
    /// version twice (under two numbers) and not keep the one in between.
    ///
    /// # Errors
    ///
    /// [`create`](Self::create) fails with
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if a suffix is empty or
    /// contains `/` or a NUL byte; the commit with
    /// [`WouldBlock`](io::ErrorKind::WouldBlock) if another writer holds the
    /// target locked past [`lock_timeout`](Self::lock_timeout) (an appender
    /// still writing), the target untouched.
    ///
    /// ```
    /// use atomic_write::{Backup, Options};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("app.conf");
    /// std::fs::write(&path, "v1")?;
    /// std::fs::write(dir.path().join("app.conf.~4~"), "v0")?;
    /// // A numbered backup exists: `Existing` makes the next one.
    /// Options::new()
    ///     .backup_kind(Backup::existing("~"))
    ///     .write_text(&path, "v2")?;
    /// assert_eq!(std::fs::read_to_string(dir.path().join("app.conf.~5~"))?, "v1");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn backup_kind(&mut self, kind: impl Into<Option<Backup>>) -> &mut Self {
        self.backup = kind.into();
        self
    }

    /// Whether the temp may be an unnamed file (Linux `O_TMPFILE`) where the
    /// filesystem supports it: on by default. An unnamed temp has no name in
    /// the directory until the commit links it in, so a crash or a kill
    /// leaves nothing behind to [`sweep`](crate::sweep).
    ///
    /// Turn it off (`unnamed_temp(false)`) to get the portable path that
    /// every other system and filesystems without `O_TMPFILE` take: a named,
    /// owner-only `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp` beside the target
    /// from the start. Reasons to: a tool that must see the write in progress
    /// in the directory (a watcher, a quota check by name), or a test of that
    /// path. Either way the result is the same, with the same guarantees; a
    /// process that changes its credentials between `create()` and the
    /// commit, which the kernel may forbid to link an unnamed file, is
    /// handled by copying the data into a named temp at commit, so it is no
    /// reason to turn this off.
    ///
    /// No effect outside Linux (the temp is always named). The CLI and the
    /// Python package set it off when the environment variable
    /// `ATOMIC_WRITE_NO_TMPFILE=1` is set (a test hook); the library itself
    /// reads no environment variable.
    ///
    /// ```
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("report.csv");
    /// Options::new().unnamed_temp(false).write_bytes(&path, b"a,b\n")?;
    /// assert_eq!(std::fs::read(&path)?, b"a,b\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unnamed_temp(&mut self, yes: bool) -> &mut Self {
        self.unnamed_temp = yes;
        self
    }

    /// Replace an existing target that the caller may not write (default
    /// `false`: refused, as a shell's `>` refuses it).
    ///
    /// Replacing a file needs only the right to write its *directory*, so
    /// without this check a user could replace a read-only file, or another
    /// user's, in a directory of theirs (and make it theirs), where `echo x >
    /// file` says "Permission denied", vim asks for `:w!` and `mv` asks
    /// first. By default [`create`](Self::create) fails with
    /// [`PermissionDenied`](io::ErrorKind::PermissionDenied) (raw OS error
    /// `EACCES`, or `EPERM` for an immutable file), nothing created and the
    /// target untouched, whenever the kernel would refuse to open the
    /// existing target for writing: its owner, mode bits and ACL, the
    /// caller's effective user and groups, and privileges as the kernel
    /// weighs them (root may write any file, as with `>`). This applies to
    /// every replacement (plain, [`append`](Self::append),
    /// [`backup`](Self::backup), [`commit_if_changed`](AtomicFile::commit_if_changed));
    /// a new file, and a symlink replaced itself
    /// ([`follow_symlinks(false)`](Self::follow_symlinks)), are not checked.
    /// A symlink followed is checked at its final target. With `true` the
    /// target is replaced whatever its permissions (what the directory
    /// allows), as `mv -f` or `:w!` do.
    ///
    /// What it costs: nothing in the common case, a file the caller owns
    /// with `u+w`, nor for root (uid 0): the metadata already read tells.
    /// Otherwise one `faccessat(W_OK, AT_EACCESS)` (on Linux 5.8+
    /// `faccessat2` on the descriptor already open, with `append`; else by
    /// the target's name in its directory, already open). Root is taken at
    /// its word: a root without `CAP_DAC_OVERRIDE`, or a user namespace's
    /// root facing a file whose owner the namespace does not map, replaces
    /// what its `>` could not open, as before this check. A read-only filesystem (`EROFS`) fails as before, when
    /// the temp is created; an immutable file (`chattr +i`), which the
    /// rename could not replace anyway, is refused with `EPERM` unless
    /// `force`, and then fails at the rename.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> std::io::Result<()> {
    /// use std::os::unix::fs::PermissionsExt;
    /// use atomic_write::Options;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("pinned.conf");
    /// std::fs::write(&path, "v1")?;
    /// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))?;
    /// let refused = Options::new().write_text(&path, "v2");
    /// # let root = unsafe { libc::geteuid() } == 0; // root may write it
    /// # if !root {
    /// assert_eq!(refused.unwrap_err().kind(), std::io::ErrorKind::PermissionDenied);
    /// assert_eq!(std::fs::read_to_string(&path)?, "v1");
    /// # }
    /// Options::new().force(true).write_text(&path, "v2")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "v2");
    /// # Ok(())
    /// # }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    ///
    /// # Platform-specific behavior
    ///
    /// On Windows nothing is refused: a read-only target is replaced (and
    /// stays read-only), as before.
    pub fn force(&mut self, yes: bool) -> &mut Self {
        self.force = yes;
        self
    }

    /// Starts a write to `path`; see [`AtomicFile::create`].
    ///
    /// # Errors
    ///
    /// As [`AtomicFile::create`].
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<AtomicFile> {
        crate::create::create(path.as_ref(), self)
    }

    /// Replaces `path` with `data` atomically, with these options.
    ///
    /// # Errors
    ///
    /// As [`AtomicFile::create`], writing, and [`AtomicFile::commit`].
    pub fn write_bytes<P: AsRef<Path>>(&self, path: P, data: &[u8]) -> io::Result<()> {
        let mut file = self.create(path)?;
        if let Err(e) = file.write_all_context(data) {
            return Err(file.remove_temp_after(e));
        }
        file.commit()
    }

    /// Replaces `path` with `text`, encoded as UTF-8, atomically.
    ///
    /// # Errors
    ///
    /// As [`Options::write_bytes`].
    pub fn write_text<P: AsRef<Path>>(&self, path: P, text: &str) -> io::Result<()> {
        self.write_bytes(path, text.as_bytes())
    }
}

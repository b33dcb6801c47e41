//! Crash-safe file replacement: the target holds the whole old content or the
//! whole new content, whatever happens.
//!
//! # The problem
//!
//! `File::create(path)` truncates the file first. A crash, a full disk or a
//! `SIGKILL` before the last byte is written leaves an empty or half-written
//! file, and both the old and the new content are gone. Readers running at the
//! same time see partial content even without a crash.
//!
//! The fix is well known and easy to get subtly wrong: write a temp file *in
//! the same directory*, `fsync` it, `rename` it over the target, `fsync` the
//! directory. Forgetting the directory sync loses the rename on power loss;
//! creating the temp elsewhere makes the rename a non-atomic copy; forgetting
//! the mode turns a `0o644` config into `0o600`; replacing a symlink breaks it.
//! This crate does each step, in order, and removes its temp on every error.
//!
//! # Example
//!
//! ```
//! use std::io::Write;
//! use atomic_write::{AtomicFile, Options};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("config.json");
//!
//! // One shot.
//! atomic_write::write_text(&path, "{\"version\": 2}\n")?;
//!
//! // Streaming: the target changes only at commit().
//! let mut file = AtomicFile::create(&path)?;
//! file.write_all(b"{\"version\": 3}\n")?;
//! file.commit()?;
//!
//! // With options.
//! Options::new().mode(0o600).write_bytes(&path, b"secret")?;
//! # assert_eq!(std::fs::read(&path)?, b"secret");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! [`AtomicFile::create`] resolves the target (following symlinks, so the link
//! stays a link), opens its directory, checks the target (a directory, FIFO or
//! device is refused before anything is written) and creates the temp in that
//! directory. On Linux the temp is unnamed (`O_TMPFILE`): if the process dies
//! while writing, the kernel frees it and nothing is left behind. Elsewhere, or
//! where the filesystem refuses `O_TMPFILE`, it is a hidden file named
//! `.NAME.atomic-write-<16 random hex>.tmp`, created with `O_EXCL|O_NOFOLLOW`
//! ([`Options::unnamed_temp`] chooses it on Linux too).
//!
//! Sandboxes: a system call newer than the oldest kernel Rust supports (Linux
//! 3.2) that a seccomp profile answers `ENOSYS` or `EPERM` is taken as not
//! there, as std does for `statx` and `copy_file_range`, and the older way is
//! used (a named temp for `O_TMPFILE`, `link` for `renameat2`, `/proc/self/fd`
//! or a copy into a named temp for `linkat(AT_EMPTY_PATH)`, `/dev/urandom`
//! for `getrandom`, an `fsync` per file for `syncfs`/`sync_file_range`). Such
//! an answer is the process's and is remembered; a filesystem's answer is
//! asked on each call.
//!
//! [`AtomicFile::commit`] then runs, in this order:
//!
//! 1. `fchown` to the existing target's owner and group (where permitted);
//! 2. `fsetxattr` of each of the existing target's extended attributes — its
//!    POSIX access ACL, security labels, `trusted.*`, `user.*`, read when the
//!    write started (see [`Options::preserve_xattrs`]) — and, where it had no
//!    ACL, the removal of one the directory's default ACL gave the temp;
//! 3. `fchmod` to the explicit or the existing target's mode (after `fchown`,
//!    which clears setuid/setgid, and after the ACL, which sets the group
//!    bits) — one `fstat` of the temp first tells whether either would change
//!    anything, and those that would not are skipped: rewriting one's own file
//!    with a mode inside the umask needs neither;
//! 4. `fsync` of the temp (`F_FULLFSYNC` on Apple platforms);
//! 5. on Linux, `linkat` of the unnamed temp to a hidden random name (where
//!    the process may not link it — its credentials changed since `create()`,
//!    or a sandbox forbids it — its data is copied into a named temp, which
//!    then gets steps 1–4);
//! 6. `renameat` over the target — or, with [`Options::no_clobber`], a link or
//!    `renameat2(RENAME_NOREPLACE)` that fails if the target exists;
//! 7. `fsync` of the directory, so the rename itself survives power loss.
//!
//! The inode is complete before the rename makes it visible: after a crash the
//! target is the old file, or the new content with the old owner, mode, ACL
//! and labels.
//!
//! With [`Options::backup`] (or [`Options::backup_kind`]: a simple backup
//! `PATH~`, or numbered ones `PATH.~N~` as `cp --backup` makes them, see
//! [`Backup`]) the old file is first linked to a hidden name and renamed to
//! its backup's name (a numbered one without replacing anything), and the
//! directory synced, between steps 4 and 5 (after the temp's data is durable,
//! before it is named and renamed), the target locked from the backup to its
//! rename so that each backup is the version replaced;
//! [`AtomicFile::commit_if_changed`] compares first and, when the target
//! already holds the content, stops before step 1 without syncing anything.
//!
//! [`commit_all`] commits many files with far fewer flushes: one `syncfs` per
//! filesystem for all the data, the renames, one `fsync` per directory.
//!
//! # Features
//!
//! None by default: the library depends on `libc` alone (`windows-sys` on
//! Windows). The `cli` feature adds the `atomic-write` command (`cargo install
//! atomic-write --features cli`) and `atomic_write::cli::run`, the same
//! program as a function; it is Unix-only for now.
//!
//! # Guarantees
//!
//! - Readers and concurrent writers see the old or the new content, whole.
//! - A crash of the process at any instant leaves the old or the new content.
//! - Once `commit()` returns `Ok` with [`Durability::Full`] (the default), the
//!   new content survives power loss, as far as the filesystem and the drive
//!   honour `fsync`.
//! - Any error before the rename removes the temp and leaves the target
//!   byte-for-byte and metadata untouched. A failed `fsync` is never retried.
//!
//! # Limits
//!
//! - Only the target's own directory is synced, not its parent: a directory
//!   created just before the write needs its parent synced by the caller, or
//!   a power cut can lose both — or let the write create it, with
//!   [`Options::create_parents`], which syncs each new directory into its
//!   parent.
//! - Replacing a file gives it a new inode: other hard links to the old file
//!   keep the old content, and open file descriptors keep reading the old file.
//! - Not kept: file capabilities (`security.capability`: the kernel drops
//!   them on any write to a file, and new content must not inherit them), the
//!   inode and its timestamps. Extended attributes are kept on Linux only.
//! - On Windows (tested under Wine) the temp is always named, syncs are
//!   `FlushFileBuffers`, the replacement is a POSIX-semantics
//!   `FileRenameInfoEx` or `MoveFileExW(MOVEFILE_WRITE_THROUGH)`, retried for
//!   about 2 s while another process holds the target; a directory cannot be
//!   synced, owner and ACL are not kept (the new file inherits the
//!   directory's), the read-only attribute is the only mode bit, and an
//!   append holds the target open, which needs the POSIX rename. README's guarantees
//!   section says exactly where Windows falls short.
//! - The target and its temp are always in one directory, so one filesystem;
//!   a bind mount over the target itself cannot be renamed over (`EBUSY`).
//! - Over NFS, rename is atomic on the server, but other clients may cache the
//!   old content for a while, and durability depends on the server's export
//!   options.
//! - With [`Durability::None`] nothing is synced: atomic against readers and
//!   process crashes only, not power loss.

// The house, one concern per module. A module uses `sys` and the modules
// that serve it, never its callers — but for `file` and `commit`, the two
// halves of `AtomicFile` (the type, and its commit), and `create`, which
// builds one:
//
// - `file`: `AtomicFile`, the public type: I/O, `commit*`, `discard`, drop;
// - `create`: starting a write: path and `Options` to an `AtomicFile`;
// - `commit`: the one commit pipeline for N >= 1 files (`commit_all`; a
//   `commit` is the batch of one), its phases private to it;
// - `target`: the target's open directory and name; every rename, link,
//   removal and directory sync by name, the messages that name it, and what
//   may be replaced (kind, `protected_regular`, a directory that can't sync);
// - `temp`: the temp file: unnamed or named, its lock, its hidden name;
// - `inherit`: owner, mode and attributes the new file gets from the old;
// - `attrs`: reading, giving and comparing extended attributes;
// - `resolve`: from a path to a `Target` (symlinks, `protected_symlinks`);
// - `append`: appends: the old file locked, its content copied;
// - `backup`: the replaced version kept under a second name;
// - `backup_name`: which name (`Backup`: simple, numbered), and the lock
//   that makes each backup the version its write replaced;
// - `changed`: whether a commit would change anything (`commit_if_changed`);
// - `parents`: missing parent directories, created durably;
// - `sweep`: removing temps that killed writers left;
// - `options`: the `Options` builder; `error`: messages with kind and errno;
// - `os_handle`: `AsFd`/`AsRawFd` (`AsHandle` on Windows) for `AtomicFile`;
// - `access`: whether the caller may write the target (`Options::force`);
// - `validate`: `AtomicFile::validate_with`, the new content checked at a path;
// - `sys`: the one place that knows the platform (system calls);
// - `cli` (feature `cli`): the `atomic-write` command.
mod access;
mod append;
mod attrs;
mod backup;
mod backup_name;
mod changed;
#[cfg(feature = "cli")]
pub mod cli;
mod commit;

// The command line is for Unix (signals, file descriptors) and Windows
// (src/cli/windows.rs): say so elsewhere rather than fail on a missing `nix`.
#[cfg(all(feature = "cli", not(any(unix, windows))))]
compile_error!(
    "the `cli` feature (the atomic-write command) is for Unix and Windows; the library builds without it"
);
mod create;
mod error;
mod file;
mod inherit;
mod options;
mod os_handle;
mod parents;
mod resolve;
mod sweep;
mod sys;
mod target;
mod temp;
#[cfg(test)]
mod tests;
mod validate;

pub use backup_name::Backup;
pub use commit::{commit_all, commit_all_with, BatchSync};
pub use error::os_error;
pub use file::AtomicFile;
pub use options::{Durability, Options};

use std::io;
use std::path::Path;

/// Replaces `path` with `data` atomically and durably, keeping an existing
/// target's mode and owner.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("blob.dat");
/// atomic_write::write_bytes(&path, b"\x00\x01\x02")?;
/// assert_eq!(std::fs::read(&path)?, b"\x00\x01\x02");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// As [`AtomicFile::create`] and [`AtomicFile::commit`]; on any error the
/// target is untouched and no temp file is left.
pub fn write_bytes<P: AsRef<Path>>(path: P, data: &[u8]) -> io::Result<()> {
    Options::new().write_bytes(path, data)
}

/// Replaces `path` with `text`, encoded as UTF-8, atomically and durably.
///
/// # Errors
///
/// As [`write_bytes`].
pub fn write_text<P: AsRef<Path>>(path: P, text: &str) -> io::Result<()> {
    write_bytes(path, text.as_bytes())
}

/// Removes the temp files that killed writers left in `dir`, and returns how
/// many it removed.
///
/// A temp is removed only if it is certainly abandoned: a regular file whose
/// name has the exact shape of this crate's temps
/// (`.NAME.atomic-write-<16 hex>.tmp`), last modified at least `min_age` ago,
/// and **not locked**. Every writer of this crate holds an exclusive `flock`
/// on its temp for as long as it lives — a named temp from its creation, an
/// unnamed (`O_TMPFILE`) one from just before `linkat` names it — and the
/// kernel drops the lock when the writer exits or is killed. So a live
/// writer's temp is never removed, however long it has been idle (a slow
/// `-- COMMAND`, a writer waiting for input), even with a `min_age` of zero;
/// a killed writer's temp is removable at once. `min_age` is a second guard,
/// for temps of writers that take no lock (versions of this crate before the
/// lock). Nothing else is touched, and subdirectories are not entered. On
/// Linux, writers leave no temps unless they die in the instant between
/// naming the temp and renaming it, or the filesystem lacks `O_TMPFILE`.
///
/// The directory is opened once; its entries are listed, inspected
/// (`fstatat`, no symlink followed), opened (`O_RDONLY|O_NOFOLLOW|O_NONBLOCK`),
/// locked (`flock(LOCK_EX|LOCK_NB)`: a temp that cannot be locked is live and
/// skipped) and removed, all relative to that descriptor. A temp the caller
/// may not open (another user's, mode `0600`) cannot be checked and is left.
///
/// ```
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// let removed = atomic_write::sweep(dir.path(), Duration::from_secs(3600))?;
/// assert_eq!(removed, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// Failing to open or list the directory. A temp that cannot be removed (an
/// append-only directory, another user's file in a sticky one) does not stop
/// the sweep: the others are still removed, and then the error says how many
/// could not be, how many were, and names the first with its cause.
pub fn sweep<P: AsRef<Path>>(dir: P, min_age: std::time::Duration) -> io::Result<usize> {
    sweep::sweep(dir.as_ref(), min_age)
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// `AtomicFile` is `#[must_use]`: a write created and dropped on the spot is
/// a write thrown away, and the compiler says so.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn save(opts: &atomic_write::Options) -> std::io::Result<()> {
///     opts.create("settings.toml")?;
///     Ok(())
/// }
/// ```
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn save() -> std::io::Result<()> {
///     atomic_write::AtomicFile::create("settings.toml")?;
///     Ok(())
/// }
/// ```
///
/// The same code with the file used compiles:
///
/// ```no_run
/// #![deny(unused_must_use)]
/// fn save() -> std::io::Result<()> {
///     atomic_write::AtomicFile::create("settings.toml")?.commit()
/// }
/// ```
#[cfg(doctest)]
struct MustUseDoctests;

// TESTING.md and BENCHMARKS.md hold no Rust today; a Rust block added there is
// tested like the README's.
#[cfg(doctest)]
#[doc = include_str!("../TESTING.md")]
struct TestingDoctests;

#[cfg(doctest)]
#[doc = include_str!("../BENCHMARKS.md")]
struct BenchmarksDoctests;

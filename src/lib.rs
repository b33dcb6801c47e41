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
//! `.NAME.atomic-write-<16 random hex>.tmp`, created with `O_EXCL|O_NOFOLLOW`.
//!
//! [`AtomicFile::commit`] then runs, in this order:
//!
//! 1. `fchown` to the existing target's owner and group (where permitted);
//! 2. `fchmod` to the explicit or the existing target's mode (after `fchown`,
//!    which clears setuid/setgid) — one `fstat` of the temp first tells
//!    whether either would change anything, and those that would not are
//!    skipped: rewriting one's own file with a mode inside the umask needs
//!    neither;
//! 3. `fsync` of the temp (`F_FULLFSYNC` on Apple platforms);
//! 4. on Linux, `linkat` of the unnamed temp to a hidden random name;
//! 5. `renameat` over the target — or, with [`Options::no_clobber`], a link or
//!    `renameat2(RENAME_NOREPLACE)` that fails if the target exists;
//! 6. `fsync` of the directory, so the rename itself survives power loss.
//!
//! [`commit_all`] commits many files with far fewer flushes: one `syncfs` per
//! filesystem for all the data, the renames, one `fsync` per directory.
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
//!   a power cut can lose both.
//! - Replacing a file gives it a new inode: other hard links to the old file
//!   keep the old content, and open file descriptors keep reading the old file.
//! - Extended attributes and ACLs of an existing target are not copied.
//! - The target and its temp are always in one directory, so one filesystem;
//!   a bind mount over the target itself cannot be renamed over (`EBUSY`).
//! - Over NFS, rename is atomic on the server, but other clients may cache the
//!   old content for a while, and durability depends on the server's export
//!   options.
//! - With [`Durability::None`] nothing is synced: atomic against readers and
//!   process crashes only, not power loss.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod error;
mod file;
mod options;
mod resolve;
mod sys;

pub use batch::commit_all;
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
/// Only regular files whose names have the exact shape of this crate's temps
/// (`.NAME.atomic-write-<16 hex>.tmp`) and that were last modified at least
/// `min_age` ago are removed; nothing else is touched, and subdirectories are
/// not entered. A live writer's temp is recent (its data is being written), so
/// an age of a few minutes is safe for writers that do not stall; the CLI uses
/// one hour by default. On Linux, writers leave no temps unless they die in the
/// instant between naming the temp and renaming it, or the filesystem lacks
/// `O_TMPFILE`.
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
/// Failing to read the directory, or to remove a stale temp (for example in an
/// append-only directory): the error names the file.
pub fn sweep<P: AsRef<Path>>(dir: P, min_age: std::time::Duration) -> io::Result<usize> {
    file::sweep(dir.as_ref(), min_age)
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

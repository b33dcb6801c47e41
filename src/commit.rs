//! The commit: one pipeline for N ≥ 1 files. [`AtomicFile::commit`] is the
//! batch of one; [`commit_all`] commits many with one data flush per
//! filesystem and one sync per directory.
//!
//! The phases, each private to this module, in order:
//!
//! 1. `prepare_metadata`: flush, then owner, attributes and mode of each temp
//!    ([`Inherit::apply`](crate::inherit::Inherit::apply));
//! 2. `sync_data`: the data of every durable temp, per filesystem;
//! 3. `publish`: each temp in its target's place — the backup first
//!    ([`Target::back_up`](crate::target::Target::back_up)), the unnamed temp
//!    named ([`Temp`](crate::temp::Temp)), the rename (or, with `no_clobber`,
//!    the rename or link that does not replace) — and the append lock
//!    released;
//! 4. `sync_dirs`: each distinct directory, once.
//!
//! A failure before the rename of a file removes its temp; the error says
//! what state the others are in (for `commit`, nothing more to say).

use std::borrow::Cow;
use std::io::{self, Seek, SeekFrom, Write};

use crate::create;
use crate::error::{self, DisplayQuoted, ResultExt};
use crate::file::AtomicFile;
use crate::options::{Durability, Options};
use crate::sys;
use crate::temp::Linked;

/// Commits many files together: each one atomically, and all of them durably
/// once this returns `Ok`, for far fewer flushes than one
/// [`commit`](AtomicFile::commit) each.
///
/// ```
/// use std::io::Write;
/// use atomic_write::AtomicFile;
/// # let dir = tempfile::tempdir()?;
/// let mut files = Vec::new();
/// for i in 0..3 {
///     let mut file = AtomicFile::create(dir.path().join(format!("part-{i}")))?;
///     writeln!(file, "part {i}")?;
///     files.push(file);
/// }
/// atomic_write::commit_all(files)?;
/// assert_eq!(std::fs::read_to_string(dir.path().join("part-2"))?, "part 2\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # How it works
///
/// 1. Owner, extended attributes and mode of every temp, as
///    [`commit`](AtomicFile::commit) sets them.
/// 2. The data of every temp is made durable, per filesystem, by whichever of
///    two schemes reports every error on the running kernel:
///    - `syncfs(2)` of the filesystem (one journal commit and cache flush for
///      the batch), then for each temp a `sync_file_range` that writes
///      anything still dirty and reports any writeback error that file had —
///      where the batch has two or more files on one ext4 (or ext3), xfs,
///      btrfs or tmpfs filesystem **and** the kernel is Linux 5.17 or later
///      (before it, `syncfs` returned 0 although the journal commit, log force
///      or cache flush failed; the version is read once with `uname`);
///    - otherwise `sync_file_range(SYNC_FILE_RANGE_WRITE)` on every temp,
///      which starts all the writeback at once, then an `fsync` of each: the
///      first `fsync` waits for the shared journal commit, the others find it
///      done (ext4, xfs), and every one reports its own file's errors. On
///      other platforms, `fsync` (`F_FULLFSYNC` on Apple) of each.
/// 3. Every temp is renamed over its target, in iteration order.
/// 4. Each distinct directory (by device and inode) is `fsync`ed once.
///
/// Files with [`Durability::None`] skip steps 2 and 4 (unless they share a
/// directory with a durable file).
///
/// # Not a transaction
///
/// Each file is replaced atomically, but the batch is not: a crash (or power
/// cut) during step 3 leaves the targets renamed so far with their new
/// content and the others with their old, and readers see the targets change
/// one by one. What `commit_all` adds over a loop of `commit` is the price,
/// and that on `Ok` every file is durable. An *error* during step 3 does not
/// roll back either: the error says which targets were replaced (see below).
///
/// # The trade-off of `syncfs`
///
/// `syncfs` writes back *every* dirty page of the filesystem, other processes'
/// included. On a quiet filesystem that costs nothing extra and replaces a
/// journal commit per file with one for the batch (100 × 4 KiB on ext4: see
/// BENCHMARKS.md); on a filesystem where another process has
/// gigabytes of dirty data, the batch waits for that data too, and may be far
/// slower than syncing its own files one by one. Commit such batches with
/// [`commit_all_with`] and [`BatchSync::WriteThenFsync`] instead.
///
/// # Errors
///
/// The error has the kind and OS error of the first failure, names the
/// target it concerns (for a failed `syncfs`, the first target on that
/// filesystem and how many more), and says what state the batch is in. No
/// temp is ever left behind silently: one that could not be removed (an
/// append-only directory) is named in the error.
///
/// - Before any rename (setting owner or mode, syncing): no target has
///   changed, and every temp is removed.
/// - Renaming file *k*: the error lists the targets already replaced (files
///   before *k*, with their new content) and says whether their directories
///   were synced (and if not, why); file *k* and the files after it are
///   discarded, their targets untouched, their temps removed.
/// - Syncing a directory after the renames: every target has its new
///   content; the error names each directory whose sync failed (the others
///   are synced): the targets in it may not survive a power cut.
///
/// As with `commit`, a failed sync is never retried and never followed by a
/// rename.
pub fn commit_all<I: IntoIterator<Item = AtomicFile>>(files: I) -> io::Result<()> {
    commit_all_with(files, BatchSync::Auto)
}

/// How [`commit_all_with`] makes the data of a batch durable (step 2 of
/// [`commit_all`]). Every scheme syncs every durable file before any rename
/// and reports every error it is told of; they differ in the flushes they
/// cost and in what they rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchSync {
    /// What [`commit_all`] does: `syncfs` for two or more files on one
    /// filesystem where it reports every error (a trusted filesystem and
    /// Linux 5.17 or later), else [`BatchSync::WriteThenFsync`].
    Auto,
    /// `syncfs` for two or more files on one trusted filesystem (ext3/ext4,
    /// xfs, btrfs, tmpfs) **whatever the kernel's version**: for a kernel
    /// older than 5.17 that you know carries the fix that makes `syncfs`
    /// report a failed journal commit or cache flush (without it, such a
    /// failure goes unreported). Elsewhere as [`BatchSync::WriteThenFsync`].
    Syncfs,
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)` on every temp, then an
    /// `fsync` of each (on other platforms, `fsync` of each): flushes the
    /// batch's own files (and whatever the filesystem's journal commit
    /// carries), not every dirty page of the filesystem as `syncfs` does
    /// (see [`commit_all`]'s trade-off).
    WriteThenFsync,
    /// `fsync` of each temp, one after the other, as that many
    /// [`commit`](AtomicFile::commit)s would (but with one directory sync
    /// per directory).
    FsyncEach,
}

/// [`commit_all`] with the data sync scheme chosen: see [`BatchSync`].
///
/// ```
/// use atomic_write::{AtomicFile, BatchSync};
/// # let dir = tempfile::tempdir()?;
/// let files = ["a", "b"].map(|name| AtomicFile::create(dir.path().join(name)));
/// let files = files.into_iter().collect::<std::io::Result<Vec<_>>>()?;
/// // On a filesystem where another process keeps gigabytes dirty.
/// atomic_write::commit_all_with(files, BatchSync::WriteThenFsync)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// As [`commit_all`].
pub fn commit_all_with<I: IntoIterator<Item = AtomicFile>>(
    files: I,
    how: BatchSync,
) -> io::Result<()> {
    let mut files: Vec<AtomicFile> = files.into_iter().collect();
    run(&mut files, how, true)
}

/// [`AtomicFile::commit`]: the batch of one, its errors noting nothing about
/// a batch.
pub(crate) fn commit_one(file: &mut AtomicFile) -> io::Result<()> {
    run(std::slice::from_mut(file), BatchSync::Auto, false)
}

/// Commits `files` (see [`commit_all`]); `batch`: the errors say what state
/// the batch is in, else (one file) they are those of [`AtomicFile::commit`].
fn run(files: &mut [AtomicFile], how: BatchSync, batch: bool) -> io::Result<()> {
    let one = files.len() == 1;
    let before = (|| {
        for file in files.iter_mut() {
            file.prepare_metadata()?;
        }
        // One file needs no grouping: no `fstat` of its directory.
        let dirs: Cow<'_, [(u64, u64)]> = if one {
            Cow::Borrowed(&[(0, 0)])
        } else {
            Cow::Owned(identify_dirs(files)?)
        };
        sync_data(files, &dirs, how)?;
        Ok(dirs)
    })();
    let dirs = match before {
        Ok(dirs) => dirs,
        Err(e) => return Err(discard_from(files, 0, e, batch)),
    };
    // Named temps the link-based no-clobber fallback could not remove.
    let mut left: Vec<io::Error> = Vec::new();
    for k in 0..files.len() {
        if files[k].append_new.is_some() {
            // It may find a target that an earlier file of the batch just
            // created, and lock it: the earlier temps' own locks (on those
            // targets now) are released first, or it would wait for us.
            for f in &files[..k] {
                f.temp.unlock();
            }
        }
        match files[k].publish() {
            Ok(l) => left.extend(l),
            Err(e) => {
                let e = if batch {
                    let synced = sync_dirs(&files[..k], &dirs[..k]);
                    replaced_so_far(e, &files[..k], synced)
                } else {
                    e
                };
                let e = discard_from(files, k, e, batch);
                return Err(with_left(e, left));
            }
        }
    }
    let synced = sync_dirs(files, &dirs);
    if !batch {
        return match (left.pop(), synced) {
            (None, synced) => synced,
            (Some(l), Ok(())) => Err(error::note(l, || "the directory was synced".into())),
            (Some(l), Err(e)) => Err(error::note(e, || l.to_string())),
        };
    }
    match (synced, left.is_empty()) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => {
            let first = left.remove(0);
            Err(with_left(first, left))
        }
        (Err(e), _) => Err(with_left(e, left)),
    }
}

/// After rename *k* failed: notes which targets were replaced before it and
/// whether their directories were synced.
fn replaced_so_far(e: io::Error, replaced: &[AtomicFile], synced: io::Result<()>) -> io::Error {
    if replaced.is_empty() {
        return error::note(e, || "no target was replaced".into());
    }
    let names: Vec<String> = replaced
        .iter()
        .map(|f| f.target.path().display_quoted())
        .collect();
    error::note(e, || {
        let dirs = match &synced {
            Ok(()) => "their directories synced".to_string(),
            Err(s) => format!("their directories NOT all synced ({s})"),
        };
        format!(
            "{} of the batch were already replaced, {dirs}: {}",
            replaced.len(),
            names.join(", ")
        )
    })
}

/// Removes the temps of `files[k..]` (not renamed: their targets untouched)
/// and notes on `e` any temp that stayed behind and, for a `batch`, what was
/// discarded.
fn discard_from(files: &mut [AtomicFile], k: usize, e: io::Error, batch: bool) -> io::Error {
    let count = files.len() - k;
    let mut e = e;
    for f in &mut files[k..] {
        e = f.temp.remove_after(&f.target, e);
    }
    if !batch {
        e
    } else if k == 0 {
        error::note(e, || {
            format!("no target was replaced; the {count} temporary file(s) were discarded")
        })
    } else {
        error::note(e, || {
            format!(
                "the other {count} target(s) were not replaced and their temporary files discarded"
            )
        })
    }
}

/// Appends the notes of temps left behind by the no-clobber fallback.
fn with_left(e: io::Error, left: Vec<io::Error>) -> io::Error {
    left.into_iter()
        .fold(e, |e, l| error::note(e, || format!("and {l}")))
}

/// `(device, inode)` of each file's directory.
fn identify_dirs(files: &[AtomicFile]) -> io::Result<Vec<(u64, u64)>> {
    files.iter().map(|f| f.target.dir_id()).collect()
}

/// Makes the data of every durable temp durable, filesystem by filesystem
/// (see [`commit_all`]).
fn sync_data(files: &[AtomicFile], dirs: &[(u64, u64)], how: BatchSync) -> io::Result<()> {
    // One file: its own `fsync`, with nothing to group.
    if let [file] = files {
        return match file.durable() {
            true => file.temp.sync(&file.target),
            false => Ok(()),
        };
    }
    let durable = |i: &usize| files[*i].durable();
    let mut devices: Vec<u64> = (0..files.len())
        .filter(durable)
        .map(|i| dirs[i].0)
        .collect();
    devices.sort_unstable();
    devices.dedup();
    for dev in devices {
        let group: Vec<usize> = (0..files.len())
            .filter(durable)
            .filter(|&i| dirs[i].0 == dev)
            .collect();
        let first = &files[group[0]];
        let what = || {
            format!(
                "failed to sync the filesystem of {} and {} more files",
                first.target.path().display_quoted(),
                group.len() - 1
            )
        };
        let use_syncfs = group.len() >= 2
            && matches!(how, BatchSync::Auto | BatchSync::Syncfs)
            && sys::syncfs_trusted(first.target.dir(), how == BatchSync::Syncfs).context(what)?;
        // Through a file: the directory may be an `O_PATH` descriptor. Where
        // a sandbox refuses `syncfs`, each file is synced instead.
        let synced = use_syncfs
            && match sys::sync_fs(first.temp.file()) {
                Ok(()) => true,
                Err(e) if sys::unavailable(&e) => false,
                Err(e) => return Err(e).context(what),
            };
        if synced {
            for &i in &group {
                sys::check_written(files[i].temp.file()).context(|| {
                    format!(
                        "failed to sync the temporary file for {}",
                        files[i].target.path().display_quoted()
                    )
                })?;
            }
            continue;
        }
        if group.len() >= 2 && how != BatchSync::FsyncEach {
            for &i in &group {
                sys::start_writeback(files[i].temp.file()).context(|| {
                    format!(
                        "failed to write back the temporary file for {}",
                        files[i].target.path().display_quoted()
                    )
                })?;
            }
        }
        for &i in &group {
            files[i].temp.sync(&files[i].target)?;
        }
    }
    Ok(())
}

/// `fsync` of each distinct directory that holds a durable file, once. Goes
/// on after a failure (syncing *another* directory is no retry), and reports
/// every directory that failed.
fn sync_dirs(files: &[AtomicFile], dirs: &[(u64, u64)]) -> io::Result<()> {
    let mut done: Vec<(u64, u64)> = Vec::new();
    let mut failed: Option<io::Error> = None;
    for (file, id) in files.iter().zip(dirs) {
        if file.durable() && !done.contains(id) {
            // (One file: nothing to remember, nothing to allocate.)
            if files.len() > 1 {
                done.push(*id);
            }
            if let Err(e) = file.target.sync(file.temp.file()) {
                failed = Some(match failed {
                    None => e,
                    Some(f) => error::note(f, || format!("and {e}")),
                });
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The phases of one file, private to the pipeline.
impl AtomicFile {
    /// Whether the commit syncs (data, then directory).
    fn durable(&self) -> bool {
        self.durability == Durability::Full
    }

    /// Flush, owner, extended attributes, mode: everything before the rename
    /// but the data sync. The temp's metadata (read in `create()` for an
    /// existing target, again here if the descriptor was lent out since)
    /// tells which of `fchown` and `fchmod` would change anything. An unnamed
    /// temp is reachable only through our descriptor; a named one also by
    /// its name, to its owner and root, who could change it after the
    /// `fstat` — as they could change the target after the commit.
    fn prepare_metadata(&mut self) -> io::Result<()> {
        self.temp.file_mut().flush()?;
        if self.inherit.is_empty() {
            return Ok(());
        }
        let now = self.temp.meta(&self.target)?;
        self.inherit
            .apply(self.temp.file(), &now, self.target.path())
    }

    /// Everything before the rename: metadata and (durable) the data sync.
    fn prepare(&mut self) -> io::Result<()> {
        self.prepare_metadata()?;
        if self.durable() {
            self.temp.sync(&self.target)?;
        }
        Ok(())
    }

    /// Puts the temp in the target's place; the next appender may then go
    /// on. After `Ok(None)` the temp name is gone; `Ok(Some(e))`: the target
    /// was created, but the temp name stayed behind as a second link to it
    /// (the link-based no-clobber fallback could not remove it), and `e`
    /// says so. Either way the target has the new file.
    fn publish(&mut self) -> io::Result<Option<io::Error>> {
        if let Some(opts) = self.append_new.take() {
            // An append to a file that was missing: create it, unless another
            // appender did meanwhile; then append to that one.
            self.no_clobber = true;
            return match self.publish() {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self.append_to_created(&opts),
                r => r,
            };
        }
        let left = if self.no_clobber {
            if let Linked::Refused(why) = self.temp.link_as_target(&self.target)? {
                self.copy_to_named(why)?;
            }
            match self.temp.name() {
                // Linked as the target itself.
                None => None,
                Some(tmp) => self.target.create_from(tmp)?,
            }
        } else {
            // Held until the rename (see `backup_name`); an appender holds
            // the target already.
            let _turn = match &self.backup {
                Some(b) => Some(self.target.back_up(
                    b,
                    self.lock.is_some(),
                    self.durable(),
                    self.temp.file(),
                )?),
                None => None,
            };
            if let Linked::Refused(why) = self.temp.link_hidden(&self.target)? {
                self.copy_to_named(why)?;
            }
            let tmp = self.temp.name().expect("named above");
            self.target.replace_with(tmp)?;
            None
        };
        self.temp.published();
        self.lock = None;
        self.temp.unlock_if_forked();
        Ok(left)
    }

    /// Where the unnamed temp may not be linked (`why`): its data copied
    /// into a named temp, which is prepared as the unnamed one was (owner,
    /// attributes, mode, data sync). The unnamed temp's owner and mode are
    /// kept where the target had none to keep (a new file), as far as the
    /// process may still give them.
    fn copy_to_named(&mut self, why: io::Error) -> io::Result<()> {
        let old = self.temp.copy_to_named(&self.target, why)?;
        self.inherit.keep_temp_meta(&old);
        self.prepare()
    }

    /// The publication of an append to a file that was missing at
    /// `create()`, which another appender created meanwhile: append to that
    /// file, as if it had existed then (its owner, mode, attributes and
    /// content, locked as `create()` locks it), adding what was written here
    /// (all of this temp: it started empty); this temp is removed, and `self`
    /// becomes the published write.
    fn append_to_created(&mut self, opts: &Options) -> io::Result<Option<io::Error>> {
        let mut next = create::create(self.target.path(), opts)?;
        let from = self.temp.file_mut();
        let copied = from
            .seek(SeekFrom::Start(0))
            .and_then(|_| io::copy(from, next.temp.file_mut()));
        copied.context(|| {
            format!(
                "failed to copy what was written to a new temporary file for {}, created meanwhile by another appender",
                self.target.path().display_quoted()
            )
        })?;
        next.prepare()?;
        let left = next.publish()?;
        // `self` (the first temp) is dropped here, its named temp removed.
        std::mem::swap(self, &mut next);
        Ok(left)
    }
}

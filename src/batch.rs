//! [`commit_all`]: many files committed for about the price of one.

use std::io;

use crate::error::ResultExt;
use crate::file::AtomicFile;
use crate::options::Durability;
use crate::sys;

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
/// 1. Owner and mode of every temp, as [`commit`](AtomicFile::commit) sets them.
/// 2. The data of every temp is made durable, per filesystem: where the batch
///    has two or more files on one ext2/3/4, xfs, btrfs or tmpfs filesystem,
///    one `syncfs(2)` of that filesystem (a single journal commit and cache
///    flush), then for each temp a `sync_file_range` that writes anything still
///    dirty and reports any writeback error that file had; on other
///    filesystems (FUSE, NFS, …), on other platforms, and for a file alone on
///    its filesystem, an `fsync` of each temp.
/// 3. Every temp is renamed over its target, in iteration order.
/// 4. Each distinct directory (by device and inode) is `fsync`ed once.
///
/// Files with [`Durability::None`] skip steps 2 and 4 (unless they share a
/// directory with a durable file).
///
/// # The trade-off of `syncfs`
///
/// `syncfs` writes back *every* dirty page of the filesystem, other processes'
/// included. On a quiet filesystem that costs nothing extra and replaces a
/// journal commit per file with one for the batch (100 × 4 KiB on ext4: see
/// the README's benchmarks); on a filesystem where another process has
/// gigabytes of dirty data, the batch waits for that data too, and may be far
/// slower than syncing its own files one by one. Commit such batches with
/// [`commit`](AtomicFile::commit) in a loop instead.
///
/// # Errors
///
/// Each error names the target it concerns (for a failed `syncfs`, the first
/// target on that filesystem and how many more). What is left depends on when
/// it happened:
///
/// - before any rename (setting owner or mode, syncing): no target has
///   changed, and every temp is removed;
/// - renaming file *k*: files before *k* are already in place (their
///   directories are still synced, best effort), file *k* and the files after
///   it are discarded, their targets untouched, their temps removed;
/// - syncing a directory after the renames: every target has its new content,
///   but some may not survive a power cut.
///
/// As with `commit`, a failed sync is never retried and never followed by a
/// rename.
pub fn commit_all<I: IntoIterator<Item = AtomicFile>>(files: I) -> io::Result<()> {
    // Dropping `files` on any early return removes the temps not yet renamed.
    let mut files: Vec<AtomicFile> = files.into_iter().collect();
    for file in &mut files {
        file.prepare_metadata()?;
    }
    let dirs = identify_dirs(&files)?;
    sync_data(&files, &dirs)?;
    for k in 0..files.len() {
        if let Err(e) = files[k].publish() {
            let _ = sync_dirs(&files[..k], &dirs[..k]);
            return Err(e);
        }
    }
    sync_dirs(&files, &dirs)
}

/// `(device, inode)` of each file's directory.
fn identify_dirs(files: &[AtomicFile]) -> io::Result<Vec<(u64, u64)>> {
    files
        .iter()
        .map(|f| {
            let m = sys::fstat(f.dir()).context(|| {
                format!(
                    "failed to read metadata of the directory of {:?}",
                    f.target()
                )
            })?;
            Ok((m.dev, m.ino))
        })
        .collect()
}

/// Makes the data of every durable temp durable: one `syncfs` per filesystem
/// where that is trusted and shared by two or more files, else `fsync` each.
fn sync_data(files: &[AtomicFile], dirs: &[(u64, u64)]) -> io::Result<()> {
    let durable = |i: &usize| files[*i].durability() == Durability::Full;
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
        let synced = group.len() >= 2
            && sys::sync_fs(first.temp_file()).context(|| {
                format!(
                    "failed to sync the filesystem of {:?} and {} more files",
                    first.target(),
                    group.len() - 1
                )
            })?;
        for &i in &group {
            if synced {
                sys::check_written(files[i].temp_file()).context(|| {
                    format!(
                        "failed to sync the temporary file for {:?}",
                        files[i].target()
                    )
                })?;
            } else {
                files[i].sync_data()?;
            }
        }
    }
    Ok(())
}

/// `fsync` of each distinct directory that holds a durable file, once.
fn sync_dirs(files: &[AtomicFile], dirs: &[(u64, u64)]) -> io::Result<()> {
    let mut done: Vec<(u64, u64)> = Vec::new();
    for (file, id) in files.iter().zip(dirs) {
        if file.durability() == Durability::Full && !done.contains(id) {
            file.sync_dir()?;
            done.push(*id);
        }
    }
    Ok(())
}

//! [`sweep`](crate::sweep): removing the temps that killed writers left, and
//! never a live writer's.
//!
//! Liveness is certain, not guessed from age: every writer holds an exclusive
//! `flock` on its temp while it has a name (see [`crate::sys::lock`]), and the
//! kernel releases it when the writer exits or dies. A temp we can lock has
//! no writer.
//!
//! The same holds for the hidden name a backup goes through (a hard link of
//! the target, renamed over the backup's name an instant later; see
//! [`crate::backup`]): before making it, the writer takes a shared `flock` on
//! the target's inode, which the hidden link shares, and keeps it until the
//! rename. The sweep's exclusive lock then fails, whatever the link's mtime
//! (it is the old file's, possibly years old) and whatever the minimum age.
//! Where the writer cannot take that lock (the target unreadable to it, or
//! locked exclusively by someone else, whose lock then holds the sweep off),
//! a sweep that removes the link anyway costs nothing: the writer makes it
//! again. A killed writer's link (its lock gone) is removed; the target keeps
//! its other name.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{self, DisplayQuoted, ResultExt};
use crate::sys::{self, FileKind};

/// See [`crate::sweep`].
pub(crate) fn sweep(dir: &Path, min_age: Duration) -> io::Result<usize> {
    // Opened as given (relative to the working directory); the absolute form
    // is for messages only.
    let shown = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir_fd = sys::open_dir(dir)
        .context(|| format!("failed to open directory {}", shown.display_quoted()))?;
    let names = sys::list_dir(&dir_fd, dir)
        .context(|| format!("failed to read directory {}", shown.display_quoted()))?;
    let now = SystemTime::now();
    let mut removed = 0;
    let mut failed: Vec<(OsString, io::Error)> = Vec::new();
    for name in names.into_iter().filter(|n| sys::is_temp_name(n)) {
        match sweep_one(&dir_fd, &name, now, min_age) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => failed.push((name, e)),
        }
    }
    let n = failed.len();
    let Some((first, e)) = failed.into_iter().next() else {
        return Ok(removed);
    };
    Err(error::context(e, || {
        format!(
            "failed to remove {n} stale temporary file(s) in {} ({removed} removed); the first, {}",
            shown.display_quoted(),
            shown.join(&first).display_quoted()
        )
    }))
}

/// Removes `name` if it is an abandoned temp: `Ok(true)` if removed,
/// `Ok(false)` if it is not ours to remove (gone, not a regular file, too
/// young, live, or not ours to open), `Err` if removing it failed.
fn sweep_one(
    dir: &std::fs::File,
    name: &std::ffi::OsStr,
    now: SystemTime,
    min_age: Duration,
) -> io::Result<bool> {
    let Some(meta) = sys::stat_at(dir, name)? else {
        return Ok(false);
    };
    let old_enough = now
        .duration_since(meta.mtime)
        .is_ok_and(|age| age >= min_age);
    if meta.kind != FileKind::Regular || !old_enough {
        return Ok(false);
    }
    let file = match sys::open_nofollow_at(dir, name) {
        Ok(f) => f,
        // Gone, swapped for a symlink, or not ours to open (then not to judge).
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT) | Some(libc::ELOOP) | Some(libc::EACCES) | Some(libc::EPERM)
            ) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let now_meta = sys::fstat(&file)?;
    if (now_meta.dev, now_meta.ino) != (meta.dev, meta.ino) || !sys::try_lock(&file)? {
        // Replaced since the stat, or locked: a live writer's.
        return Ok(false);
    }
    // Locked by us: no writer can be using it. Remove it while holding the lock.
    match sys::unlink(dir, name) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

//! Keeping the replaced version as a backup ([`Options::backup`](crate::Options::backup)),
//! crash-safely.
//!
//! Just before the commit's rename, the current target gets a second name:
//!
//! 1. `linkat` of the target to a fresh hidden temp name (the same shape as
//!    the write's own temps, so [`sweep`](crate::sweep) recognises one left by
//!    a killed writer) — the same inode, so the backup has the old file's
//!    content, mode, owner, extended attributes and timestamps for free. A
//!    shared `flock` on the target, taken before the link and held until the
//!    rename, tells a sweep that the link is a live writer's;
//! 2. `renameat` of that name over the backup's name, atomically replacing
//!    any previous backup (where the backup's name already is a link of the
//!    target, the rename does nothing and the hidden name is removed);
//! 3. `fsync` of the directory (full durability), so the backup is on disk
//!    before the target is replaced.
//!
//! Where the filesystem has no hard links (`linkat` refused: vfat, some FUSE
//! and network filesystems, or `fs.protected_hardlinks` for a file the writer
//! may read but not write), step 1 is a copy instead: a named temp with the
//! target's content, owner (where the process may set it), extended
//! attributes (those a replacement keeps, see [`crate::attrs`]) and mode,
//! `fsync`ed before step 2.
//!
//! A crash at any point leaves the old target with the previous backup, the
//! old target with the old content as backup, or the new target with the old
//! content as backup: never a partial backup, never the new target without
//! its backup.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::Path;

use crate::error::{self, ResultExt};
use crate::inherit::Inherit;
use crate::sys::{self, errno};

/// Makes the file now at `name` in `dir` a backup: a hidden second name,
/// which `place` moves to the backup's name (returning that name; its errors
/// say which name), and (if
/// `durable`) makes that durable with `sync_dir` (the commit's own directory
/// sync: an `fsync` of the directory, or of its filesystem where the
/// directory can't be read). Nothing there: nothing to do.
pub(crate) fn make(
    dir: &File,
    dir_path: &Path,
    name: &OsStr,
    mut place: impl FnMut(&OsStr) -> io::Result<OsString>,
    durable: bool,
    sync_dir: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let what = || format!("failed to back up {:?}", dir_path.join(name));
    let target = dir_path.join(name);
    let mut tries = 0;
    loop {
        // `_mark` holds the sweep off the hidden name until it is renamed.
        let Some((tmp, _mark)) = second_name(dir, name, &target, durable).context(what)? else {
            return Ok(());
        };
        let shown = match place(&tmp) {
            Ok(backup) => dir_path.join(backup),
            // The hidden link went before its rename: only a sweep that
            // could not be held off removes it (the target's inode was
            // locked exclusively by someone else, who let go meanwhile).
            // Nothing was lost: make it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 16 => {
                tries += 1;
                continue;
            }
            Err(e) => {
                let _ = sys::unlink(dir, &tmp);
                return Err(e);
            }
        };
        // Where the backup's name already was a link of the target (`ln t
        // t~`, or a crash between a backup's rename and the commit's), the
        // rename of one link of an inode over another does nothing: both
        // names stay, and the hidden one must go. After a rename that did its
        // work the name is gone (`ENOENT`, one failed syscall; the name is
        // random, never anyone else's).
        match sys::unlink(dir, &tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(error::context(e, what)),
        }
        if durable {
            sync_dir().context(|| {
                format!("made the backup {shown:?} but failed to sync directory {dir_path:?}")
            })?;
        }
        return Ok(());
    }
}

/// Gives the current target a fresh hidden name: a hard link, or a synced copy
/// where the filesystem has no hard links; with the descriptor whose lock
/// marks it as a live writer's for [`sweep`](crate::sweep) (a shared `flock`
/// of the target's inode, taken before the link exists; the copy is a named
/// temp, locked from its creation). `None` if there is no target.
fn second_name(
    dir: &File,
    name: &OsStr,
    target: &Path,
    durable: bool,
) -> io::Result<Option<(OsString, Option<File>)>> {
    let mark = match sys::open_nofollow_at(dir, name) {
        Ok(f) => {
            // Refused only while someone holds an exclusive lock (an
            // appender, possibly this very writer): that lock holds the
            // sweep off as well.
            let _ = sys::try_lock_shared(&f)?;
            Some(f)
        }
        Err(e) if e.raw_os_error() == Some(errno::ENOENT) => return Ok(None),
        // Not ours to read (or a symlink swapped in): no mark; the link
        // below decides, and `make` makes it again should a sweep take it.
        Err(_) => None,
    };
    for _ in 0..16 {
        let tmp = sys::temp_name(name)?;
        match sys::link(dir, name, &tmp) {
            Ok(()) => return Ok(Some((tmp, mark))),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.raw_os_error() == Some(errno::ENOENT) => return Ok(None),
            // No hard links here (or too many, or not allowed by
            // fs.protected_hardlinks): copy.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(errno::EPERM)
                        | Some(errno::EOPNOTSUPP)
                        | Some(errno::EMLINK)
                        | Some(errno::ENOSYS)
                ) =>
            {
                return Ok(copy(dir, name, target, durable)?.map(|(tmp, f)| (tmp, Some(f))));
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}

/// A named temp holding a copy of the target, with its owner, extended
/// attributes and mode (given by [`Inherit::apply`], as a commit gives them),
/// and its descriptor (which holds the temp's lock); `None` if there is no
/// target.
///
/// What the filesystem cannot keep is skipped, as the main write skips it and
/// as `cp` does: an owner or mode it cannot set (`ENOSYS`, `EOPNOTSUPP` from
/// FUSE filesystems such as `fusefat`; `EPERM`, `EINVAL` for an owner the
/// process may not give) and attributes it does not have. The copy is created
/// `0600`, so a mode that cannot be set leaves it narrower, never wider.
fn copy(
    dir: &File,
    name: &OsStr,
    target: &Path,
    durable: bool,
) -> io::Result<Option<(OsString, File)>> {
    let mut src = match sys::open_read_nofollow_at(dir, name) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = sys::fstat(&src)?;
    let inherit = Inherit::of_copy(&src, &meta, target)?;
    let mut temp = sys::create_named_temp(dir, name, 0o600)?;
    let tmp = temp.name.take().expect("a named temp has a name");
    let filled = (|| {
        sys::clone_or_copy(&mut src, &mut temp.file)?;
        inherit.apply(&temp.file, &sys::fstat(&temp.file)?, target)?;
        if durable {
            sys::sync_file(&temp.file)?;
        }
        Ok(())
    })();
    match filled {
        Ok(()) => Ok(Some((tmp, temp.file))),
        Err(e) => {
            let _ = sys::unlink(dir, &tmp);
            Err(e)
        }
    }
}

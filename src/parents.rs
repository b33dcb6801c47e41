//! Creating the missing directories on the way to a target, durably
//! ([`Options::create_parents`](crate::Options::create_parents)).
//!
//! The directory part of the path is walked one component at a time through
//! directory descriptors, from the working directory (or `/`) as the kernel
//! would: `openat(parent, name, O_DIRECTORY)`, and where that finds nothing,
//! `mkdirat(parent, name, 0o777)` (the umask applies, as for `mkdir -p`), then
//! `u+wx` added where the umask took it away (as `mkdir -p` does for the
//! directories on the way, so that the next one, and the file, can be made in
//! it: under `umask 0277` they are `0700`, not `0500`), then
//! `fsync` of the parent so the new entry is on disk before anything is
//! created inside it. Top down, each new directory is synced as the parent of
//! the next; the last one is synced by the commit. A concurrent creator is
//! fine (`EEXIST`: the parent is synced all the same, since the other creator
//! may not have synced it yet). A component that exists and is not a directory
//! fails with `NotADirectory` before anything is created below it.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{self, ResultExt};
use crate::sys;

/// Creates the missing directories of `path`'s parent; with `durable`, each
/// new one is made durable in its parent.
pub(crate) fn create(path: &Path, durable: bool) -> io::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let start = if dir.is_absolute() { "/" } else { "." };
    let mut cur = sys::open_dir_rel(None, Path::new(start))
        .context(|| format!("failed to open directory {start:?}"))?;
    let mut shown = PathBuf::new();
    for comp in dir.components() {
        match comp {
            Component::RootDir => shown.push("/"),
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir | Component::Normal(_) => {
                shown.push(comp);
                cur = step(&cur, comp.as_os_str(), &shown, durable)?;
            }
        }
    }
    Ok(())
}

/// Opens (creating it if missing) the directory `name` in `parent`; with it,
/// whether it was opened for reading (see [`sys::open_dir_rel`]: a directory
/// the caller may write and search but not read serves for `*at` calls only).
fn step(
    (parent, readable): &(File, bool),
    name: &OsStr,
    shown: &Path,
    durable: bool,
) -> io::Result<(File, bool)> {
    match sys::open_dir_rel(Some(parent), Path::new(name)) {
        Ok(d) => return Ok(d),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(open_error(e, shown)),
    }
    let created = match sys::mkdir_at(parent, name, 0o777) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => false,
        Err(e) => {
            return Err(error::context(e, || {
                format!("failed to create directory {shown:?}")
            }))
        }
    };
    let mut dir =
        sys::open_dir_rel(Some(parent), Path::new(name)).map_err(|e| open_error(e, shown))?;
    if created && owner_write_search(&dir, shown)? {
        // Opened again: the first descriptor may be `O_PATH` (no `u+r`).
        dir = sys::open_dir_rel(Some(parent), Path::new(name)).map_err(|e| open_error(e, shown))?;
    }
    if durable {
        let what = || format!("created directory {shown:?} but failed to sync its parent");
        if *readable {
            sys::sync_dir(parent).context(what)?;
        } else if dir.1 && sys::syncfs_trusted(&dir.0, false).unwrap_or(false) {
            // The parent can't be read, so can't be synced: sync its whole
            // filesystem where that is known to cover it, as a commit does.
            sys::sync_fs(&dir.0).context(what)?;
        } else {
            return Err(error::os(libc::EACCES, || {
                format!(
                    "created directory {shown:?} but cannot make it durable: its parent can't be read, so it can't be synced, and syncing its whole filesystem is not known to cover it (Durability::None would skip the sync)"
                )
            }));
        }
    }
    Ok(dir)
}

/// Gives a directory we just created `u+wx` where the umask took it away
/// (`mkdir -p`'s rule for the directories on the way): without them nothing
/// could be created in it. `true`: the bits were changed. A directory someone else made meanwhile
/// (not ours: another owner) is left as it is.
fn owner_write_search((dir, readable): &(File, bool), shown: &Path) -> io::Result<bool> {
    let what = || format!("failed to give the new directory {shown:?} u+wx");
    let meta = sys::fstat(dir).context(what)?;
    if meta.mode & 0o300 == 0o300 || meta.uid != sys::euid() {
        return Ok(false);
    }
    let mode = (meta.mode & 0o7777) | 0o300;
    if *readable {
        sys::chmod(dir, mode).context(what)?;
    } else {
        // An `O_PATH` descriptor (the umask took `u+r` too) can't be
        // `fchmod`ed; its `/proc` link can be `chmod`ed, and names this very
        // directory, not whatever its name may point to by now.
        chmod_o_path(dir, mode).context(what)?;
    }
    Ok(true)
}

#[cfg(target_os = "linux")]
fn chmod_o_path(dir: &File, mode: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let link = format!("/proc/self/fd/{}", dir.as_raw_fd());
    std::fs::set_permissions(link, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(target_os = "linux"))]
fn chmod_o_path(_dir: &File, _mode: u32) -> io::Result<()> {
    // Elsewhere a directory that can't be read is never opened at all.
    Err(io::Error::from_raw_os_error(libc::EBADF))
}

fn open_error(e: io::Error, shown: &Path) -> io::Error {
    if e.raw_os_error() == Some(libc::ENOTDIR) {
        error::os(libc::ENOTDIR, || {
            format!(
                "cannot create directory {shown:?}: a file that is not a directory is in the way"
            )
        })
    } else {
        error::context(e, || format!("failed to open directory {shown:?}"))
    }
}

//! Creating the missing directories on the way to a target, durably
//! ([`Options::create_parents`](crate::Options::create_parents)).
//!
//! The directory part of the path is walked one component at a time through
//! directory descriptors, from the working directory (or `/`) as the kernel
//! would: `openat(parent, name, O_DIRECTORY)`, and where that finds nothing,
//! `mkdirat(parent, name, 0o777)` (the umask applies, as for `mkdir -p`), then
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
    let mut cur = sys::open_dir(Path::new(start))
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

/// Opens (creating it if missing) the directory `name` in `parent`.
fn step(parent: &File, name: &OsStr, shown: &Path, durable: bool) -> io::Result<File> {
    match sys::open_dir_at(parent, name) {
        Ok(d) => return Ok(d),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(open_error(e, shown)),
    }
    match sys::mkdir_at(parent, name, 0o777) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => {
            return Err(error::context(e, || {
                format!("failed to create directory {shown:?}")
            }))
        }
    }
    if durable {
        sys::sync_dir(parent)
            .context(|| format!("created directory {shown:?} but failed to sync its parent"))?;
    }
    sys::open_dir_at(parent, name).map_err(|e| open_error(e, shown))
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

//! Appends that read the very file resolved and don't lose each other's
//! lines: the current target is opened without following links, checked to
//! be the file resolved, and held under an exclusive `flock` until the rename.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use crate::error::{self, DisplayQuoted};
use crate::resolve::Resolved;
use crate::sys::{self, errno, FileKind, Meta};

/// The target file (or, for a missing target, its directory) that an
/// appender holds, locked unless this thread already held it.
pub(crate) struct Held {
    pub(crate) file: File,
    /// `(device, inode, thread)` in [`HELD`] while locked by us.
    key: Option<(u64, u64, ThreadId)>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = held.iter().position(|k| *k == key) {
                held.swap_remove(i);
            }
        }
    }
}

/// The inodes this process holds an append lock on, and which thread took it.
/// A thread that opens a second appender of a target it already holds would
/// wait for itself forever; it goes on without the lock instead (its
/// appenders are then not serialised with each other, as it can't commit
/// two at once anyway). Other threads wait on the `flock` as other
/// processes do.
static HELD: Mutex<Vec<(u64, u64, ThreadId)>> = Mutex::new(Vec::new());

/// Locks `file` (of identity `meta`) exclusively, unless this thread holds it.
fn hold(file: File, meta: &Meta) -> io::Result<Held> {
    let key = (meta.dev, meta.ino, thread::current().id());
    if HELD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&key)
    {
        return Ok(Held { file, key: None });
    }
    sys::lock(&file)?;
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push(key);
    Ok(Held {
        file,
        key: Some(key),
    })
}

/// Opens the resolved target without following links, checks it is the very
/// file resolved (same device and inode, regular) and takes an exclusive
/// `flock` on it, then checks that the path still names it (another appender
/// may have renamed its result over it while we waited). A missing target:
/// the directory is locked instead, and must still lack it. `Ok(None)`: the
/// target was replaced meanwhile; resolve again.
pub(crate) fn lock_current(r: &Resolved) -> io::Result<Option<Held>> {
    let open_err = |e| {
        error::context(e, || {
            format!("failed to open {} to append", r.target.display_quoted())
        })
    };
    let same = |a: &Meta, b: &Meta| (a.dev, a.ino) == (b.dev, b.ino);
    let Some(meta) = r.meta else {
        let (dir, readable) = sys::open_dir_rel(Some(&r.dir), Path::new(".")).map_err(open_err)?;
        if !readable {
            // An `O_PATH` descriptor can't be locked: appenders creating a
            // file in a `0300` directory are not serialised.
            return Ok(Some(Held {
                file: dir,
                key: None,
            }));
        }
        let id = sys::fstat(&dir).map_err(open_err)?;
        let held = hold(dir, &id).map_err(open_err)?;
        let now = sys::stat_at(&r.dir, &r.name).map_err(open_err)?;
        return Ok(now.is_none().then_some(held));
    };
    match meta.kind {
        FileKind::Regular => {}
        FileKind::Symlink => {
            return Err(error::context(
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "appending to a symlink without following it would drop the content it names",
                ),
                || format!("cannot append to {}", r.target.display_quoted()),
            ))
        }
        // `check_target` refuses these; nothing to open.
        _ => {
            let file = r.dir.try_clone().map_err(open_err)?;
            return Ok(Some(Held { file, key: None }));
        }
    }
    let src = match sys::open_nofollow_at(&r.dir, &r.name) {
        Ok(f) => f,
        // Removed meanwhile: start over (it is a new file now).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A symlink (`ELOOP`) or a socket (`ENXIO`) now: not what was resolved.
        Err(e) if matches!(e.raw_os_error(), Some(errno::ELOOP) | Some(errno::ENXIO)) => {
            return Err(changed(&r.target))
        }
        // Any other failure is reported as it is (its kind and errno kept).
        Err(e) => return Err(open_err(e)),
    };
    let opened = sys::fstat(&src).map_err(open_err)?;
    if opened.kind != FileKind::Regular {
        return Err(changed(&r.target));
    }
    if !same(&opened, &meta) {
        // Another regular file: resolve again, so that owner, mode and
        // content all come from the one file.
        return Ok(None);
    }
    let held = hold(src, &meta).map_err(open_err)?;
    match sys::stat_at(&r.dir, &r.name).map_err(open_err)? {
        Some(now) if same(&now, &meta) => Ok(Some(held)),
        _ => Ok(None),
    }
}

/// The target was swapped for something else between resolving and opening it.
pub(crate) fn changed(target: &Path) -> io::Error {
    error::context(
        io::Error::other("the target changed while opening it"),
        || format!("failed to open {} to append", target.display_quoted()),
    )
}

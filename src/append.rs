//! Appends that read the very file resolved and don't lose each other's
//! lines.
//!
//! # The lock design
//!
//! - **An existing target** is opened without following links, checked to
//!   be the file resolved, and held under an exclusive `flock` until the
//!   rename (after which the path names the new inode and the next appender
//!   locks that). `flock` rather than `fcntl` record locks: it needs no write
//!   access to the file (a `0444` file is appended to by replacing it), it
//!   survives the caller opening and closing the file elsewhere in the
//!   process, and it is what earlier versions of the crate take, so they and
//!   this one still exclude each other.
//! - **A missing target** is not locked at all (earlier versions locked its
//!   directory, which serialised appenders of *different* new files in one
//!   directory and deadlocked `atomic-write -a g -- … atomic-write -a h`).
//!   Its commit creates it without replacing anything (`RENAME_NOREPLACE` or
//!   `link`); if another appender created it meanwhile, the commit appends to
//!   that file instead, as if it had existed at `create()`: it locks it (the
//!   rule above), copies it to a fresh temp, adds what was written, and
//!   renames that (see `commit.rs`). So appenders of different
//!   files never wait for each other, and no append is lost.
//! - **In one process** appenders are known by the device and inode they
//!   lock ([`HELD`]): a second appender of an inode that another thread's
//!   appender holds waits for it to be committed or dropped (a condition
//!   variable, no `flock`: two descriptors of one process would conflict
//!   with each other, and a thread can't wait for itself); one that *this
//!   thread* created fails at once with `WouldBlock`: the thread would wait
//!   for itself. (An appender created on a thread and moved to another is
//!   counted as its creator's: the wait is then bounded, see below.)
//! - **Every wait is bounded** by [`Options::lock_timeout`](crate::Options::lock_timeout)
//!   (10 s by default, [`DEFAULT_LOCK_TIMEOUT`]; zero: don't wait): a lock held
//!   by another process is polled for with `LOCK_NB` (1 ms growing to 50 ms
//!   between tries), then `create()` fails with `WouldBlock` and nothing
//!   written, naming the file and, where `/proc/locks` tells, the holders'
//!   pids. Anyone who can open the file for reading can `flock` it (`flock
//!   -s`), and so hold up appenders for as long as they keep it: with the
//!   bounded wait that is a named failure after the timeout, never a hang.
//! - **`fork`**: an `flock` belongs to the open file description, which a
//!   forked child shares. So the lock is released explicitly (`LOCK_UN`)
//!   when the appender is committed or dropped — which releases it for the
//!   child's copy too — and never by the child's copy (whose process id is
//!   not the creator's). The same holds for the temp's own lock after the
//!   rename, when the temp *is* the target.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crate::error::{self, DisplayQuoted, ResultExt};
use crate::resolve::{self, Resolved};
use crate::sys::{self, errno, FileKind, Meta};

/// Times `create()` starts over when an appended target is replaced while it
/// is being opened and locked, before giving up.
const MAX_RETRIES: usize = 64;

/// How long an appender waits for the lock by default.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest pause between two tries of a lock held by another process.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// The existing target file that an appender holds locked.
pub(crate) struct Held {
    file: File,
    /// `(device, inode)` in [`HELD`] while locked by us.
    key: Option<(u64, u64)>,
    /// The process that took the lock: a forked child's copy leaves it alone.
    pid: u32,
}

impl Held {
    /// The locked file (for `access.rs`'s check on the open descriptor).
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            return;
        }
        if let Some(key) = self.key.take() {
            // Explicitly, not by closing: a forked child may share the open
            // file description, and with it the lock.
            let _ = sys::unlock(&self.file);
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = held.iter().position(|(k, _)| *k == key) {
                held.swap_remove(i);
            }
            FREED.notify_all();
        }
    }
}

/// The inodes this process's appenders hold, and the thread that created
/// each appender.
static HELD: Mutex<Vec<((u64, u64), ThreadId)>> = Mutex::new(Vec::new());
/// Signalled whenever an entry leaves [`HELD`].
static FREED: Condvar = Condvar::new();

impl Held {
    /// Fills `temp` with the content of the file held (the very file
    /// resolved); `temp`'s cursor ends at the end.
    pub(crate) fn copy_into(&mut self, temp: &mut File, target: &Path) -> io::Result<()> {
        sys::clone_or_copy(&mut self.file, temp).context(|| {
            format!(
                "failed to copy {} to its temporary file",
                target.display_quoted()
            )
        })?;
        Ok(())
    }
}

/// Resolves `path` (following a symlink with `follow`) for an append, and
/// locks an existing target (see the module's doc), starting over while it
/// is replaced meanwhile.
pub(crate) fn resolve_locked(
    path: &Path,
    follow: bool,
    timeout: Duration,
) -> io::Result<(Resolved, Option<Held>)> {
    let mut tries = 0;
    loop {
        let r = resolve::resolve(path, follow)?;
        match lock_current(&r, timeout)? {
            Current::Held(lock) => return Ok((r, Some(lock))),
            Current::Unlocked => return Ok((r, None)),
            Current::Changed => {}
        }
        tries += 1;
        if tries > MAX_RETRIES {
            return Err(changed(r.target.path()));
        }
    }
}

/// What [`lock_current`] found.
enum Current {
    /// The existing regular target, locked.
    Held(Held),
    /// Nothing to lock: the target is missing (the commit creates it without
    /// replacing anything), or of a kind `Target::replaceable` refuses.
    Unlocked,
    /// The target was replaced meanwhile: resolve again.
    Changed,
}

/// Locks `file` (of identity `meta`, the target `target`) for this appender:
/// first among the process's appenders, then with `flock` among processes,
/// each wait bounded by `timeout`.
fn hold(file: File, meta: &Meta, target: &Path, timeout: Duration) -> io::Result<Held> {
    let key = (meta.dev, meta.ino);
    let me = thread::current().id();
    let start = Instant::now();
    let deadline = start.checked_add(timeout);
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    while let Some(&(_, owner)) = held.iter().find(|(k, _)| *k == key) {
        if owner == me {
            return Err(error::os(errno::EWOULDBLOCK, || {
                format!(
                    "cannot append to {}: an appender of it created on this thread is not committed or dropped yet, and waiting for it here would wait forever",
                    target.display_quoted()
                )
            }));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(error::os(errno::EWOULDBLOCK, || {
                format!(
                    "cannot append to {}: another appender of it in this process (created on another thread) holds it{}",
                    target.display_quoted(),
                    waited(timeout)
                )
            }));
        }
        held = match left {
            Some(left) => {
                FREED
                    .wait_timeout(held, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => FREED.wait(held).unwrap_or_else(|e| e.into_inner()),
        };
    }
    held.push((key, me));
    drop(held);
    // From here the entry is ours: dropping `guard` (on any error below)
    // removes it and wakes the waiters.
    let guard = Held {
        file,
        key: Some(key),
        pid: std::process::id(),
    };
    let mut pause = Duration::from_millis(1);
    loop {
        if sys::try_lock(&guard.file)? {
            return Ok(guard);
        }
        let now = Instant::now();
        let left = deadline.map_or(pause, |d| d.saturating_duration_since(now));
        if left.is_zero() {
            return Err(error::os(errno::EWOULDBLOCK, || {
                format!(
                    "cannot append to {}: it is locked by another appender{}{}",
                    target.display_quoted(),
                    holders(meta),
                    waited(timeout)
                )
            }));
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// `" and was not released within 10 s"`; nothing for a zero timeout.
fn waited(timeout: Duration) -> String {
    if timeout.is_zero() {
        String::new()
    } else {
        format!(" and was not released within {} s", timeout.as_secs_f64())
    }
}

/// `" (pid 123)"`: who holds a lock on the inode `meta`, from `/proc/locks`
/// (Linux); `""` where that doesn't tell. A holder that is an ancestor of
/// this process is said to be one: it is likely waiting for us.
fn holders(meta: &Meta) -> String {
    let pids = lock_holders(meta.dev, meta.ino);
    if pids.is_empty() {
        return String::new();
    }
    let ancestors = ancestors();
    let shown: Vec<String> = pids
        .iter()
        .map(|p| {
            if ancestors.contains(p) {
                format!("{p}, an ancestor of this process, which may be waiting for it")
            } else {
                p.to_string()
            }
        })
        .collect();
    let word = if pids.len() == 1 { "pid" } else { "pids" };
    format!(" ({word} {})", shown.join("; "))
}

/// The pids holding (not waiting for) a lock on `(dev, ino)`, from
/// `/proc/locks`: lines like `1: FLOCK  ADVISORY  WRITE 1234 08:02:131 0 EOF`
/// (device as hex major and minor). OFD locks show no pid (`-1`): skipped.
pub(crate) fn lock_holders(dev: u64, ino: u64) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string("/proc/locks") else {
        return Vec::new();
    };
    // Linux's `dev_t` encoding (glibc's `major`/`minor`).
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let want = format!("{major:02x}:{minor:02x}:{ino}");
    let mut pids = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // A blocked waiter is listed as `N: -> FLOCK …`.
        if fields.get(1) == Some(&"->") || fields.len() < 6 || fields[5] != want {
            continue;
        }
        if let Ok(pid) = fields[4].parse::<u32>() {
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// This process's ancestors, from `/proc/PID/stat`; empty without procfs.
fn ancestors() -> Vec<u32> {
    let mut found = Vec::new();
    let mut pid = std::process::id();
    while pid > 1 && found.len() < 4096 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            break;
        };
        // `PID (COMM) STATE PPID …`; COMM may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            break;
        };
        let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) else {
            break;
        };
        found.push(ppid);
        pid = ppid;
    }
    found
}

/// Opens the resolved target without following links, checks it is the very
/// file resolved (same device and inode, regular) and locks it (see the
/// module's doc), then checks that the path still names it (another
/// appender may have renamed its result over it while we waited).
fn lock_current(r: &Resolved, timeout: Duration) -> io::Result<Current> {
    let open_err = |e| {
        error::context(e, || {
            format!(
                "failed to open {} to append",
                r.target.path().display_quoted()
            )
        })
    };
    let same = |a: &Meta, b: &Meta| (a.dev, a.ino) == (b.dev, b.ino);
    let Some(meta) = r.meta else {
        return Ok(Current::Unlocked);
    };
    match meta.kind {
        FileKind::Regular => {}
        FileKind::Symlink => {
            return Err(error::context(
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "appending to a symlink without following it would drop the content it names",
                ),
                || format!("cannot append to {}", r.target.path().display_quoted()),
            ))
        }
        // `Target::replaceable` refuses these; nothing to open.
        _ => return Ok(Current::Unlocked),
    }
    let src = match sys::open_nofollow_at(r.target.dir(), r.target.name()) {
        Ok(f) => f,
        // Removed meanwhile: start over (it is a new file now).
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Current::Changed),
        // A symlink (`ELOOP`) or a socket (`ENXIO`) now: not what was resolved.
        Err(e) if matches!(e.raw_os_error(), Some(errno::ELOOP) | Some(errno::ENXIO)) => {
            return Err(changed(r.target.path()))
        }
        // Any other failure is reported as it is (its kind and errno kept).
        Err(e) => return Err(open_err(e)),
    };
    let opened = sys::fstat(&src).map_err(open_err)?;
    if opened.kind != FileKind::Regular {
        return Err(changed(r.target.path()));
    }
    if !same(&opened, &meta) {
        // Another regular file: resolve again, so that owner, mode and
        // content all come from the one file.
        return Ok(Current::Changed);
    }
    let held = hold(src, &meta, r.target.path(), timeout)?;
    match sys::stat_at(r.target.dir(), r.target.name()).map_err(open_err)? {
        Some(now) if same(&now, &meta) => Ok(Current::Held(held)),
        _ => Ok(Current::Changed),
    }
}

/// The target was swapped for something else between resolving and opening it.
fn changed(target: &Path) -> io::Error {
    error::context(
        io::Error::other("the target changed while opening it"),
        || format!("failed to open {} to append", target.display_quoted()),
    )
}

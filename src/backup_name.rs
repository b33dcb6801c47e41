//! Which name a backup gets ([`Backup`]) and how it gets it without losing
//! one: `PATH~` (or another suffix), replacing the previous backup, or the
//! next `PATH.~N~`, as coreutils numbers them, never replacing one.
//!
//! - **The version replaced is the version kept.** From the backup to the
//!   commit's rename the writer holds an exclusive `flock` on the target's
//!   inode (the one appenders take, see `append.rs`), and checks that the
//!   path still names that inode once it has it: two writers of one target
//!   take turns, each backing up what its own rename replaces. A writer
//!   waits for that lock at most [`Options::lock_timeout`] (then the commit
//!   fails with `WouldBlock`, the target untouched). A target the writer
//!   can't open for reading (or a symlink kept as itself) is backed up
//!   without it, and so is every target on Windows, where a file held open
//!   can't be renamed over.
//! - **A numbered backup never replaces another**: the hidden link is moved
//!   to `PATH.~N~` with `renameat2(RENAME_NOREPLACE)` (a `link` where the
//!   filesystem lacks the flag, as `no_clobber` does), N one more than the
//!   highest in the directory; should the name exist (a `cp --backup` or an
//!   older writer made it meanwhile), the next number is taken.
//! - **Numbers as coreutils reads them**: `PATH.~N~` with N decimal digits
//!   not starting with `0` (`PATH.~01~` is not one), of any length
//!   (`PATH.~99999999999999999999~` is followed by `.~100000000000000000000~`);
//!   anything at that name counts, a directory too. A directory that cannot
//!   be listed has none (the first is `.~1~`, the next free one is taken).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{self, DisplayQuoted};
use crate::options::Options;
use crate::sys::{self, errno, FileKind};

/// Which backup a write keeps of the file it replaces, as `cp --backup`,
/// `mv --backup` and `install --backup` make them: see
/// [`Options::backup_kind`](crate::Options::backup_kind).
///
/// ```
/// use atomic_write::{Backup, Options};
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.conf");
/// std::fs::write(&path, "v1")?;
/// let mut opts = Options::new();
/// opts.backup_kind(Backup::Numbered);
/// opts.write_text(&path, "v2")?;
/// opts.write_text(&path, "v3")?;
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.conf.~1~"))?, "v1");
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.conf.~2~"))?, "v2");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backup {
    /// The target's name followed by this suffix (`app.conf~` with `"~"`),
    /// replacing the previous backup of that name (`--backup=simple`).
    Simple(OsString),
    /// `PATH.~N~`, N one more than the highest N of the target's numbered
    /// backups in its directory (`app.conf.~1~`, then `app.conf.~2~`; after
    /// `.~1~` and `.~5~` comes `.~6~`): every replaced version is kept, and a
    /// numbered backup never replaces another, even between concurrent
    /// writers (`--backup=numbered`).
    Numbered,
    /// Numbered if the target already has a numbered backup, simple with
    /// this suffix if not (`--backup=existing`, coreutils' default).
    Existing(OsString),
}

impl Backup {
    /// [`Backup::Simple`] with `suffix`: `Backup::simple(".bak")`.
    pub fn simple<S: AsRef<OsStr>>(suffix: S) -> Backup {
        Backup::Simple(suffix.as_ref().to_os_string())
    }

    /// [`Backup::Existing`] with `suffix`: `Backup::existing("~")`.
    pub fn existing<S: AsRef<OsStr>>(suffix: S) -> Backup {
        Backup::Existing(suffix.as_ref().to_os_string())
    }
}

/// `Existing("~")`: what `cp -b` makes without `VERSION_CONTROL` and
/// `SIMPLE_BACKUP_SUFFIX` set.
impl Default for Backup {
    fn default() -> Backup {
        Backup::existing("~")
    }
}

/// Refuses a suffix that would not name a sibling of the target.
fn check_suffix(suffix: &OsStr) -> io::Result<()> {
    let b = suffix.as_encoded_bytes();
    if b.is_empty() || b.iter().any(|&c| std::path::is_separator(char::from(c))) || b.contains(&0) {
        return Err(error::context(
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a backup suffix must be non-empty, without '/' or NUL",
            ),
            || format!("invalid backup suffix {suffix:?}"),
        ));
    }
    Ok(())
}

/// A write's backup: its kind and how long to wait for the target's lock.
#[derive(Debug)]
pub(crate) struct Plan {
    kind: Backup,
    timeout: Duration,
}

/// The exclusive `flock` on the target's inode, from the backup until the
/// commit's rename (released when dropped).
pub(crate) struct Turn(Option<File>);

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            // Explicitly: a child forked meanwhile shares the descriptor.
            let _ = sys::unlock(f);
        }
    }
}

impl Plan {
    /// The backup `opts` asks for, its suffix checked; `None` if none.
    pub(crate) fn of(opts: &Options) -> io::Result<Option<Plan>> {
        let Some(kind) = &opts.backup else {
            return Ok(None);
        };
        if let Backup::Simple(s) | Backup::Existing(s) = kind {
            check_suffix(s)?;
        }
        Ok(Some(Plan {
            kind: kind.clone(),
            timeout: opts.lock_timeout,
        }))
    }

    /// Makes the backup of `name` in `dir` (see [`crate::backup`]), and
    /// returns the lock to hold until the target is replaced: none if
    /// `locked` (this write holds the target already, an append) or the
    /// target can't be opened to be locked.
    pub(crate) fn make(
        &self,
        dir: &File,
        dir_path: &Path,
        name: &OsStr,
        locked: bool,
        durable: bool,
        sync_dir: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<Turn> {
        let turn = if locked || !sys::REPLACE_WHILE_LOCKED {
            Turn(None)
        } else {
            Turn(self.take_turn(dir, dir_path, name)?)
        };
        crate::backup::make(
            dir,
            dir_path,
            name,
            |tmp| self.place(dir, dir_path, name, tmp),
            durable,
            sync_dir,
        )?;
        Ok(turn)
    }

    /// The target's inode, locked exclusively, once the path still names it.
    fn take_turn(&self, dir: &File, dir_path: &Path, name: &OsStr) -> io::Result<Option<File>> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            // Missing (nothing to back up), a symlink kept as itself, or not
            // ours to read: no lock, the backup is made as it can be.
            let Ok(f) = sys::open_nofollow_at(dir, name) else {
                return Ok(None);
            };
            let what = || format!("failed to lock {}", dir_path.join(name).display_quoted());
            let held = sys::fstat(&f).map_err(|e| error::context(e, what))?;
            if held.kind != FileKind::Regular {
                return Ok(None);
            }
            if sys::try_lock(&f).map_err(|e| error::context(e, what))? {
                match sys::stat_at(dir, name).map_err(|e| error::context(e, what))? {
                    Some(now) if (now.dev, now.ino) == (held.dev, held.ino) => return Ok(Some(f)),
                    // Replaced while we waited: lock the new one.
                    _ => continue,
                }
            }
            let left = self.timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(error::os(errno::EWOULDBLOCK, || {
                    format!(
                        "cannot back up {}: another writer holds it locked (not released within {:?})",
                        dir_path.join(name).display_quoted(),
                        self.timeout
                    )
                }));
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Moves the hidden link `tmp` to the backup's name; returns that name.
    /// An error names the target and the backup.
    fn place(
        &self,
        dir: &File,
        dir_path: &Path,
        name: &OsStr,
        tmp: &OsStr,
    ) -> io::Result<OsString> {
        let failed = |e: io::Error, b: &OsStr| {
            error::context(e, || {
                format!(
                    "failed to back up {} as {}",
                    dir_path.join(name).display_quoted(),
                    dir_path.join(b).display_quoted()
                )
            })
        };
        let suffix = match &self.kind {
            Backup::Simple(s) | Backup::Existing(s) => Some(s),
            Backup::Numbered => None,
        };
        let top = match &self.kind {
            Backup::Simple(_) => None,
            _ => highest(name, &sys::list_dir(dir, dir_path).unwrap_or_default()),
        };
        if let (None, Some(s), false) = (&top, suffix, self.kind == Backup::Numbered) {
            let mut b = name.to_os_string();
            b.push(s);
            sys::rename(dir, tmp, &b).map_err(|e| failed(e, &b))?;
            return Ok(b);
        }
        let mut n = next(top.as_deref().unwrap_or(b"0"));
        loop {
            let b = numbered(name, &n);
            match sys::rename_noreplace(dir, tmp, &b) {
                Ok(_) => return Ok(b),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                // Neither `RENAME_NOREPLACE` nor hard links here: the name
                // checked, then a plain rename (the writers of this crate
                // take turns on the target's lock; others may race).
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(errno::EPERM) | Some(errno::EOPNOTSUPP) | Some(errno::ENOSYS)
                    ) =>
                {
                    if sys::stat_at(dir, &b).map_err(|e| failed(e, &b))?.is_none() {
                        sys::rename(dir, tmp, &b).map_err(|e| failed(e, &b))?;
                        return Ok(b);
                    }
                }
                Err(e) => return Err(failed(e, &b)),
            }
            n = next(&n);
        }
    }
}

/// The highest N (its decimal digits) of the entries `NAME.~N~` in `names`.
fn highest(name: &OsStr, names: &[OsString]) -> Option<Vec<u8>> {
    let mut top: Option<&[u8]> = None;
    for entry in names {
        let Some(n) = entry
            .as_encoded_bytes()
            .strip_prefix(name.as_encoded_bytes())
            .and_then(|r| r.strip_prefix(b".~"))
            .and_then(|r| r.strip_suffix(b"~"))
        else {
            continue;
        };
        let digits = matches!(n.first(), Some(b'1'..=b'9')) && n.iter().all(u8::is_ascii_digit);
        // Longer is larger; of one length, the later in byte order.
        if digits && top.is_none_or(|t| (n.len(), n) > (t.len(), t)) {
            top = Some(n);
        }
    }
    top.map(<[u8]>::to_vec)
}

/// `n + 1`, in decimal digits, of any length.
fn next(n: &[u8]) -> Vec<u8> {
    let mut d = n.to_vec();
    for c in d.iter_mut().rev() {
        if *c == b'9' {
            *c = b'0';
        } else {
            *c += 1;
            return d;
        }
    }
    d.insert(0, b'1');
    d
}

/// `NAME.~N~`.
fn numbered(name: &OsStr, n: &[u8]) -> OsString {
    let mut b = name.to_os_string();
    b.push(".~");
    b.push(std::str::from_utf8(n).expect("decimal digits"));
    b.push("~");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_highest_number_as_coreutils_reads_it() {
        let n = |v: &[&str]| highest(OsStr::new("f"), &names(v));
        assert_eq!(n(&[]), None);
        assert_eq!(n(&["f", "f~", "f.~1~"]), Some(b"1".to_vec()));
        assert_eq!(
            n(&["f.~1~", "f.~5~", "f.~10~", "f.~9~"]),
            Some(b"10".to_vec())
        );
        // Not numbered backups of `f`: a leading zero, zero, other characters,
        // another file's, an unfinished one.
        assert_eq!(
            n(&["f.~01~", "f.~0~", "f.~3a~", "f.~4~~", "f.~7~.x", "g.~8~", "ff.~9~", "f.~2"]),
            None
        );
    }

    #[test]
    fn numbers_of_any_length() {
        assert_eq!(next(b"0"), b"1");
        assert_eq!(next(b"9"), b"10");
        assert_eq!(next(b"1299"), b"1300");
        assert_eq!(next(b"99999999999999999999"), b"100000000000000000000");
        assert_eq!(numbered(OsStr::new("a.conf"), b"12"), "a.conf.~12~");
    }
}

//! Target resolution: from the path the caller gave to an open directory and a
//! name in it, following symlinks at the last component as the kernel would,
//! with the kernel's `fs.protected_symlinks` check. (What may be replaced is
//! [`Target`]'s to say.)
//!
//! Paths are opened as given: relative ones relative to the working directory
//! (`AT_FDCWD`), a relative symlink relative to the directory holding it. An
//! absolute form is computed only for messages and
//! [`AtomicFile::target`](crate::AtomicFile::target), so a working directory deeper than `PATH_MAX`
//! or below a directory the caller can't search works as it does for `>`.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{self, DisplayQuoted, ResultExt};
use crate::sys::{self, errno, FileKind, Meta, Protection};
use crate::target::Target;

/// Symlinks followed before giving up with `ELOOP`, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// A resolved target: its directory open, its metadata read.
pub(crate) struct Resolved {
    /// The target: absolute where the working directory has an absolute
    /// name (else as given), its directory open (`O_PATH` for a directory
    /// the caller may write and search but not read, `0300`).
    pub(crate) target: Target,
    /// `lstat` of the target; `None` if nothing is there.
    pub(crate) meta: Option<Meta>,
}

/// Opens the path's directory and reads the target's metadata there; when
/// `follow`, a symlink at the last component is followed (`readlinkat`) and
/// the same is done for the path it names, up to [`MAX_SYMLINKS`] times. A
/// dangling link resolves to the path it names, so the write creates it. In
/// the common case — no symlink — this is one `open` of the directory and one
/// `fstatat` of the target.
///
/// Every link followed passes the kernel's `fs.protected_symlinks` check
/// ([`check_link`]).
pub(crate) fn resolve(path: &Path, follow: bool) -> io::Result<Resolved> {
    // `absolute` and `Path::file_name` drop a trailing `.`: `dir/.` would become `dir`.
    if ends_in_dot(path) {
        return Err(not_a_file_name(path));
    }
    let mut shown = match absolute(path) {
        Ok(abs) => abs,
        // An empty path, or a working directory without a name we can get
        // (deeper than `PATH_MAX`): the path as given still opens.
        Err(e) if path.as_os_str().is_empty() => {
            return Err(error::context(e, || {
                format!("invalid path {}", path.display_quoted())
            }))
        }
        Err(_) => path.to_path_buf(),
    };
    // What to open, relative to `base` (`None`: the working directory): the
    // path as given, then the symlinks' targets.
    let mut open: Cow<'_, Path> = Cow::Borrowed(path);
    let mut base: Option<File> = None;
    for _ in 0..=MAX_SYMLINKS {
        let (dir_rel, name) = split(&open, &shown)?;
        let dir_path = shown.parent().unwrap_or(Path::new(""));
        let (dir, dir_readable) = sys::open_dir_rel(base.as_ref(), dir_rel)
            .context(|| format!("failed to open directory {}", dir_path.display_quoted()))?;
        let meta = sys::stat_at(&dir, &name)
            .context(|| format!("failed to read metadata of {}", shown.display_quoted()))?;
        match meta {
            Some(link) if follow && link.kind == FileKind::Symlink => {
                check_link(&dir, &link, &shown)?;
                let to = sys::read_link_at(&dir, &name)
                    .context(|| format!("failed to read symlink {}", shown.display_quoted()))?;
                if ends_in_dot(Path::new(&to)) {
                    return Err(not_a_file_name(&shown));
                }
                let to = PathBuf::from(to);
                let joined = dir_path.join(&to);
                shown = absolute(&joined).unwrap_or(joined);
                base = if to.is_absolute() { None } else { Some(dir) };
                open = Cow::Owned(to);
            }
            _ => {
                return Ok(Resolved {
                    target: Target::new(dir, dir_readable, shown, name),
                    meta,
                })
            }
        }
    }
    Err(error::os(errno::ELOOP, || {
        format!(
            "failed to resolve {}: too many levels of symlinks",
            path.display_quoted()
        )
    }))
}

/// `std::path::absolute`, without its work where `path` is absolute already
/// and has nothing to normalise (no `.` component, no `//`, no trailing
/// `/`), as most paths given to a write are.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let b = path.as_os_str().as_encoded_bytes();
    let clean = cfg!(unix)
        && b.first() == Some(&b'/')
        && b.len() > 1
        && !b.ends_with(b"/")
        && !b.windows(2).any(|w| w == b"//")
        && !b.windows(3).any(|w| w == b"/./")
        && !b.ends_with(b"/.");
    if clean {
        return Ok(path.to_path_buf());
    }
    std::path::absolute(path)
}

/// The kernel's `fs.protected_symlinks` rule for a link the crate is about to
/// follow itself: in a sticky, world-writable directory, a link owned by
/// neither the caller (effective uid) nor the directory's owner is refused
/// while the protection is on. Costs an `fstat` of the directory, only when a
/// link is met.
fn check_link(dir: &File, link: &Meta, shown: &Path) -> io::Result<()> {
    let d = sys::fstat(dir).context(|| {
        format!(
            "failed to read metadata of the directory of {}",
            shown.display_quoted()
        )
    })?;
    let shared = d.mode & 0o1002 == 0o1002;
    if !shared || link.uid == d.uid || link.uid == sys::euid() {
        return Ok(());
    }
    if sys::protection(Protection::Symlinks) == 0 {
        return Ok(());
    }
    Err(error::os(errno::EACCES, || {
        format!(
            "refusing to follow symlink {}: it is in a sticky world-writable directory and owned by uid {}, neither the caller nor the directory's owner (fs.protected_symlinks)",
            shown.display_quoted(),
            link.uid
        )
    }))
}

/// Splits the path to open into its directory (`.` for a bare name) and its
/// name; `shown` names it in the error.
fn split<'a>(open: &'a Path, shown: &Path) -> io::Result<(&'a Path, OsString)> {
    let trailing_slash = open
        .as_os_str()
        .as_encoded_bytes()
        .last()
        .is_some_and(|&c| std::path::is_separator(char::from(c)));
    match (open.parent(), open.file_name()) {
        (Some(dir), Some(name)) if !trailing_slash && name != ".." => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            Ok((dir, name.to_os_string()))
        }
        _ => Err(not_a_file_name(shown)),
    }
}

/// Whether the last component of `path` is `.`: it names a directory, never a
/// file in it.
fn ends_in_dot(path: &Path) -> bool {
    let b = path.as_os_str().as_encoded_bytes();
    b == b"."
        || (b.len() >= 2
            && b[b.len() - 1] == b'.'
            && std::path::is_separator(char::from(b[b.len() - 2])))
}

fn not_a_file_name(path: &Path) -> io::Error {
    error::os(errno::EISDIR, || {
        format!("cannot replace {}: not a file name", path.display_quoted())
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The shortcut gives what `std::path::absolute` gives, for clean paths
    /// and for every shape it leaves to std: the same bytes (`Path`'s `==`
    /// compares components, which holds `/a/./b`, `/a//b` and `/a/.` equal
    /// to `/a/b`, `/a/b` and `/a`).
    #[test]
    fn absolute_is_std_absolute() {
        for p in [
            "/a/b",
            "/",
            "/a",
            "/a/b/",
            "/a//b",
            "//a/b",
            "///a",
            "/a/./b",
            "/a/.",
            "/a/..",
            "/a/../b",
            "/.a/b.",
            "/a/.../b",
            "a/b",
            "./a",
            ".",
            "..",
            "a/",
            "/a/b/c.txt",
        ] {
            let p = Path::new(p);
            assert_eq!(
                super::absolute(p).unwrap().as_os_str(),
                std::path::absolute(p).unwrap().as_os_str(),
                "{p:?}"
            );
        }
    }
}

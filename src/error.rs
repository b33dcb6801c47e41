//! Errors that keep their [`io::ErrorKind`] and say which step failed, on which path.
//!
//! Every error this crate returns is an [`io::Error`] whose kind is the kind of the
//! underlying OS error, whose message names the step and the path
//! (`failed to create temporary file in "/etc": Permission denied (os error 13)`),
//! and whose [`source`](std::error::Error::source) is the original OS error, so
//! [`os_error`] can recover the raw `errno`.

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// The payload inside an [`io::Error`]: what we were doing, and what the OS said.
#[derive(Debug)]
struct Context {
    what: String,
    source: io::Error,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl StdError for Context {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// An error with a note after its message, for a second failure while
/// handling the first (`…: Operation not permitted (os error 1); and the
/// temporary file … was left behind: …`).
#[derive(Debug)]
struct Noted {
    error: io::Error,
    note: String,
}

impl fmt::Display for Noted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.error, self.note)
    }
}

impl StdError for Noted {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

/// Appends `note` to the message of `error`, keeping its kind and OS error.
pub fn note(error: io::Error, note: impl FnOnce() -> String) -> io::Error {
    io::Error::new(
        error.kind(),
        Noted {
            note: note(),
            error,
        },
    )
}

/// Wraps `source` with a description of the failed step, keeping its kind.
///
/// `what` is lowercase, without a trailing period, and names the path, e.g.
/// `failed to rename "a" to "b"`.
pub fn context(source: io::Error, what: impl FnOnce() -> String) -> io::Error {
    io::Error::new(
        source.kind(),
        Context {
            what: what(),
            source,
        },
    )
}

/// Extension for attaching [`context`] to results.
pub(crate) trait ResultExt<T> {
    /// Describe the failed step; `what` is only evaluated on error.
    fn context(self, what: impl FnOnce() -> String) -> io::Result<T>;
}

impl<T> ResultExt<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> io::Result<T> {
        self.map_err(|e| context(e, what))
    }
}

/// The raw OS error (`errno`) behind an error returned by this crate.
///
/// [`io::Error::raw_os_error`] returns `None` for errors that carry a message, as
/// ours do; this looks through the message to the OS error underneath. It also
/// works on plain OS errors.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let err = atomic_write::write_bytes(dir.path().join("missing/file"), b"x").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(atomic_write::os_error(&err), Some(libc::ENOENT));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn os_error(err: &io::Error) -> Option<i32> {
    if let Some(code) = err.raw_os_error() {
        return Some(code);
    }
    let mut cur: &(dyn StdError + 'static) = err.get_ref()?;
    loop {
        if let Some(io) = cur.downcast_ref::<io::Error>() {
            if let Some(code) = io.raw_os_error() {
                return Some(code);
            }
        }
        cur = cur.source()?;
    }
}

/// An error of the given OS code with a description.
pub(crate) fn os(code: i32, what: impl FnOnce() -> String) -> io::Error {
    context(io::Error::from_raw_os_error(code), what)
}

//! Errors that keep their [`io::ErrorKind`] and say which step failed, on which path.
//!
//! Every error this crate returns is an [`io::Error`] whose kind is the kind of the
//! underlying OS error, whose message names the step and the path
//! (`failed to create temporary file in "/etc": Permission denied (os error 13)`),
//! and whose [`source`](std::error::Error::source) is `None`: the message already
//! carries the cause, so a chain reporter (`anyhow`'s `{:#}`, `eyre`, `tracing`)
//! prints it once, as with fs-err. [`os_error`] recovers the raw `errno` from
//! the crate's own payload.

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

/// The cause is in the message; `source()` is `None` so it is printed once.
impl StdError for Context {}

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

/// The first error is in the message; `source()` is `None`, as for [`Context`].
impl StdError for Noted {}

/// Appends `note` to the message of `error`, keeping its kind and OS error.
pub(crate) fn note(error: io::Error, note: impl FnOnce() -> String) -> io::Error {
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
pub(crate) fn context(source: io::Error, what: impl FnOnce() -> String) -> io::Error {
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
/// ours do; this finds the OS error inside the crate's own message payload. It
/// also works on plain OS errors, and on other errors whose
/// [`source`](std::error::Error::source) chain holds an OS error.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let err = atomic_write::write_bytes(dir.path().join("missing/file"), b"x").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(atomic_write::os_error(&err), Some(libc::ENOENT));
/// // The message carries the cause; `source()` is `None`, so it is never printed twice.
/// assert!(err.to_string().ends_with("No such file or directory (os error 2)"));
/// assert!(std::error::Error::source(&err).is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn os_error(err: &io::Error) -> Option<i32> {
    if let Some(code) = err.raw_os_error() {
        return Some(code);
    }
    let payload = err.get_ref()?;
    if let Some(c) = payload.downcast_ref::<Context>() {
        return os_error(&c.source);
    }
    if let Some(n) = payload.downcast_ref::<Noted>() {
        return os_error(&n.error);
    }
    // Someone else's payload: look for an OS error along its chain.
    let mut cur = payload.source();
    while let Some(e) = cur {
        if let Some(code) = e.downcast_ref::<io::Error>().and_then(os_error) {
            return Some(code);
        }
        cur = e.source();
    }
    None
}

/// `"path"` with the quotes and escapes of `Debug`, as std's errors show
/// paths: every message of the crate shows a path this way, so a newline or
/// an escape byte in a name never splits or colours the line.
pub(crate) trait DisplayQuoted {
    fn display_quoted(&self) -> String;
}

impl DisplayQuoted for std::path::Path {
    fn display_quoted(&self) -> String {
        format!("{self:?}")
    }
}

/// An error of the given OS code with a description.
pub(crate) fn os(code: i32, what: impl FnOnce() -> String) -> io::Error {
    context(io::Error::from_raw_os_error(code), what)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `os_error` looks through a note (a second failure) and through a foreign
    /// payload whose `source()` is an OS error.
    #[test]
    fn os_error_through_wrappers() {
        let base = io::Error::from_raw_os_error(libc::EACCES);
        let noted = note(context(base, || "failed to x".into()), || "and y".into());
        assert_eq!(
            noted.to_string(),
            "failed to x: Permission denied (os error 13); and y"
        );
        assert_eq!(noted.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(os_error(&noted), Some(libc::EACCES));
        assert!(std::error::Error::source(&noted).is_none());

        #[derive(Debug)]
        struct Foreign(io::Error);
        impl std::fmt::Display for Foreign {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("foreign")
            }
        }
        impl std::error::Error for Foreign {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = context(io::Error::from_raw_os_error(libc::EIO), || "inner".into());
        let foreign = io::Error::other(Foreign(inner));
        assert_eq!(os_error(&foreign), Some(libc::EIO));
        assert_eq!(os_error(&io::Error::other("no errno")), None);
    }
}

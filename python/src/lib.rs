//! `atomic_write._native`: the Rust half of the Python package.
//!
//! The public API (signatures, docstrings, argument checks) is the pure-Python
//! layer in `atomic_write/__init__.py`; this module is what it calls. Every
//! function here takes the interpreter's lock off (`Python::detach`) for the
//! whole blocking part — resolving the path, creating the temp, writing,
//! `fsync`, rename, directory `fsync` — so other threads run meanwhile.
//! Errors become Python's `OSError` built as `OSError(errno, strerror,
//! filename)`, which picks the subclass for the errno exactly as the
//! interpreter's own functions do.

use std::ffi::OsStr;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use atomic_write::{AtomicFile, Durability, Options};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A path argument as the OS sees it, and the `str` or `bytes` it came from
/// (the `filename` of errors, as `os` functions give it): `bytes` as they are,
/// `str` and `os.PathLike` through `os.fspath` and the filesystem encoding (as
/// `os.open` does, surrogate escapes included). A NUL byte is a `ValueError`,
/// as in `os`.
fn fs_path<'py>(ob: &Bound<'py, PyAny>) -> PyResult<(PathBuf, Bound<'py, PyAny>)> {
    let path = if let Ok(b) = ob.cast::<PyBytes>() {
        PathBuf::from(OsStr::from_bytes(b.as_bytes()))
    } else if ob.is_instance_of::<PyString>() {
        ob.extract::<PathBuf>()?
    } else {
        // os.PathLike (which may return bytes) or a wrong type (TypeError).
        let fspath = ob.py().import("os")?.getattr("fspath")?.call1((ob,))?;
        if fspath.is_instance_of::<PyBytes>() || fspath.is_instance_of::<PyString>() {
            return fs_path(&fspath);
        }
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "expected str, bytes or os.PathLike object",
        ));
    };
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(PyValueError::new_err("embedded null byte"));
    }
    Ok((path, ob.clone()))
}

/// The options of one write.
fn options(
    mode: Option<u32>,
    durable: bool,
    follow_symlinks: bool,
    exclusive: bool,
    append: bool,
) -> PyResult<Options> {
    let mut opts = Options::new();
    if let Some(mode) = mode {
        if mode > 0o7777 {
            return Err(PyValueError::new_err(format!(
                "mode must be between 0 and 0o7777, not {mode:#o}"
            )));
        }
        opts.mode(mode);
    }
    opts.durability(if durable {
        Durability::Full
    } else {
        Durability::None
    })
    .follow_symlinks(follow_symlinks)
    .no_clobber(exclusive)
    .append(append)
    // A test hook (README "Tests"): the named-temp path, as without O_TMPFILE.
    .unnamed_temp(std::env::var_os("ATOMIC_WRITE_NO_TMPFILE").is_none_or(|v| v == "0"));
    Ok(opts)
}

/// `OSError(errno, strerror, filename)`: the subclass for the errno
/// (`FileNotFoundError`, `PermissionError`, …), `strerror` the crate's message
/// that names the step (without its trailing `(os error N)`, which `errno`
/// holds), `filename` the path as the caller passed it.
fn os_error(py: Python<'_>, err: io::Error, filename: Option<&Bound<'_, PyAny>>) -> PyErr {
    let message = err.to_string();
    // The crate reports a FIFO, socket or device as the target without an OS
    // code: `EINVAL` says the same to Python.
    let code = atomic_write::os_error(&err).or(match err.kind() {
        io::ErrorKind::InvalidInput => Some(libc::EINVAL),
        _ => None,
    });
    let build = || -> PyResult<PyErr> {
        let cls = py.get_type::<PyOSError>();
        let exc = match code {
            Some(code) => {
                let suffix = format!(" (os error {code})");
                let strerror = message.strip_suffix(&suffix).unwrap_or(&message);
                match filename {
                    Some(f) => cls.call1((code, strerror, f))?,
                    None => cls.call1((code, strerror))?,
                }
            }
            None => cls.call1((message.as_str(),))?,
        };
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// Replaces `path` with `data` (a `bytes` object, borrowed, not copied).
#[pyfunction]
#[pyo3(signature = (path, data, mode, durable, follow_symlinks, exclusive, append))]
#[allow(clippy::too_many_arguments)]
fn write(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    data: &Bound<'_, PyBytes>,
    mode: Option<u32>,
    durable: bool,
    follow_symlinks: bool,
    exclusive: bool,
    append: bool,
) -> PyResult<()> {
    let (target, filename) = fs_path(path)?;
    let opts = options(mode, durable, follow_symlinks, exclusive, append)?;
    let bytes = data.as_bytes();
    py.detach(|| opts.write_bytes(&target, bytes))
        .map_err(|e| os_error(py, e, Some(&filename)))
}

/// A write in progress: a temp file beside the target, replacing it only on
/// `commit()`. The pure-Python file objects of `atomic_write.open` write to
/// a duplicate of its descriptor.
#[pyclass(module = "atomic_write._native", name = "AtomicFile", frozen)]
struct PyAtomicFile {
    /// `None` once committed or discarded.
    inner: Mutex<Option<AtomicFile>>,
    /// The path as `os.fspath` gives it, for errors.
    filename: Py<PyAny>,
}

impl PyAtomicFile {
    fn take(&self) -> PyResult<AtomicFile> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| PyValueError::new_err("the file was already committed or discarded"))
    }
}

#[pymethods]
impl PyAtomicFile {
    /// The temp file's descriptor (owned by this object).
    fn fileno(&self) -> PyResult<i32> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .as_ref()
            .map(|f| f.as_raw_fd())
            .ok_or_else(|| PyValueError::new_err("the file was already committed or discarded"))
    }

    /// Whether the file was committed or discarded.
    #[getter]
    fn done(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Replaces the target: owner, mode, `fsync`, rename, directory `fsync`.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let file = self.take()?;
        py.detach(|| file.commit())
            .map_err(|e| os_error(py, e, Some(self.filename.bind(py))))
    }

    /// Removes the temp; the target is untouched.
    fn discard(&self, py: Python<'_>) -> PyResult<()> {
        let file = self.take()?;
        py.detach(|| file.discard())
            .map_err(|e| os_error(py, e, Some(self.filename.bind(py))))
    }
}

/// Starts a write: resolves the target and creates the temp (and, to append,
/// copies the current content into it).
#[pyfunction]
#[pyo3(signature = (path, mode, durable, follow_symlinks, exclusive, append))]
fn create(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    mode: Option<u32>,
    durable: bool,
    follow_symlinks: bool,
    exclusive: bool,
    append: bool,
) -> PyResult<PyAtomicFile> {
    let (target, filename) = fs_path(path)?;
    let opts = options(mode, durable, follow_symlinks, exclusive, append)?;
    let file = py
        .detach(|| opts.create(&target))
        .map_err(|e| os_error(py, e, Some(&filename)))?;
    Ok(PyAtomicFile {
        inner: Mutex::new(Some(file)),
        filename: filename.unbind(),
    })
}

/// Commits many files together (`atomic_write::commit_all`).
#[pyfunction]
fn commit_all(py: Python<'_>, files: Vec<Bound<'_, PyAtomicFile>>) -> PyResult<()> {
    let mut taken = Vec::with_capacity(files.len());
    for f in &files {
        taken.push(f.get().take()?);
    }
    py.detach(|| atomic_write::commit_all(taken))
        .map_err(|e| os_error(py, e, None))
}

/// Removes this crate's stale temps in `dir` at least `older_than` seconds old.
#[pyfunction]
fn sweep(py: Python<'_>, dir: &Bound<'_, PyAny>, older_than: f64) -> PyResult<usize> {
    let (path, filename) = fs_path(dir)?;
    let age = Duration::try_from_secs_f64(older_than).map_err(|_| {
        PyValueError::new_err("older_than must be a non-negative number of seconds")
    })?;
    py.detach(|| atomic_write::sweep(&path, age))
        .map_err(|e| os_error(py, e, Some(&filename)))
}

/// The Rust half of `atomic_write`; use the package, not this module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(write, m)?)?;
    m.add_function(wrap_pyfunction!(create, m)?)?;
    m.add_function(wrap_pyfunction!(commit_all, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_class::<PyAtomicFile>()?;
    Ok(())
}

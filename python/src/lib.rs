//! `atomic_write._native`: the Rust half of the Python package.
//!
//! The public API (signatures, docstrings, argument checks) is the pure-Python
//! layer in `atomic_write/__init__.py`; this module is what it calls. Every
//! function here takes the interpreter's lock off (`Python::detach`) for each
//! blocking step — resolving the path, creating the temp, writing, `fsync`,
//! rename, directory `fsync` — so other threads run meanwhile.
//!
//! Signals: Python runs its signal handlers (`KeyboardInterrupt`) only when
//! it holds the lock. A long write takes it back between chunks and checks
//! for a signal there and once more just before the commit, so Ctrl-C during
//! a write abandons it with nothing committed; the commit itself (owner,
//! mode, `fsync`, rename, directory `fsync`) is never interrupted, and a
//! signal that arrives during it is raised once the write is done.
//!
//! Errors become Python's `OSError` built as `OSError(errno, strerror,
//! filename)`, which picks the subclass for the errno exactly as the
//! interpreter's own functions do.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use atomic_write::{AtomicFile, Backup, Durability, Options};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Data is written in chunks this big, with a check for signals between them.
const CHUNK: usize = 8 << 20;

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
        return Err(PyTypeError::new_err(
            "expected str, bytes or os.PathLike object",
        ));
    };
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(PyValueError::new_err("embedded null byte"));
    }
    Ok((path, ob.clone()))
}

/// `ATOMIC_WRITE_NO_TMPFILE` set to anything but `0`: the write takes the
/// named-temp path, as on a filesystem without `O_TMPFILE`. A test hook of the
/// package (README "Tests"), read at each write and passed to the crate as
/// `Options::unnamed_temp(false)`: the crate itself reads no environment
/// variable.
fn no_tmpfile() -> bool {
    std::env::var_os("ATOMIC_WRITE_NO_TMPFILE").is_some_and(|v| v != "0")
}

/// The options of one write, as the Python layer passes them (a `dict`).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Opts {
    mode: Option<u32>,
    durable: bool,
    follow_symlinks: bool,
    exclusive: bool,
    append: bool,
    preserve_xattrs: bool,
    backup: Option<OsString>,
    /// `"numbered"` or `"existing"`; else (or missing) a simple backup with
    /// the suffix `backup`.
    #[pyo3(default)]
    backup_kind: Option<String>,
    parents: bool,
    /// Replace a target the caller may not write (`Options::force`).
    #[pyo3(default)]
    force: bool,
    /// Seconds to wait for another writer's lock on the target
    /// (`Options::lock_timeout`); `None`: the crate's default.
    #[pyo3(default)]
    lock_timeout: Option<f64>,
}

impl Opts {
    fn build(&self) -> PyResult<Options> {
        let mut opts = Options::new();
        if let Some(mode) = self.mode {
            if mode > 0o7777 {
                return Err(PyValueError::new_err(format!(
                    "mode must be between 0 and 0o7777, not {mode:#o}"
                )));
            }
            opts.mode(mode);
        }
        opts.durability(if self.durable {
            Durability::Full
        } else {
            Durability::None
        })
        .follow_symlinks(self.follow_symlinks)
        .no_clobber(self.exclusive)
        .append(self.append)
        .preserve_xattrs(self.preserve_xattrs)
        .create_parents(self.parents)
        .force(self.force)
        .unnamed_temp(!no_tmpfile());
        if let Some(secs) = self.lock_timeout {
            opts.lock_timeout(lock_timeout(secs)?);
        }
        if let Some(suffix) = &self.backup {
            opts.backup_kind(match self.backup_kind.as_deref().unwrap_or("simple") {
                "numbered" => Backup::Numbered,
                "existing" => Backup::existing(suffix),
                _ => Backup::simple(suffix),
            });
        }
        Ok(opts)
    }
}

/// `lock_timeout` seconds as a `Duration`: a negative or non-finite number is
/// a `ValueError`; one too large for a `Duration` waits as long as it takes.
fn lock_timeout(secs: f64) -> PyResult<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(PyValueError::new_err(format!(
            "lock_timeout must be a non-negative finite number of seconds, not {secs}"
        )));
    }
    Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// `OSError(errno, strerror, filename)`: the subclass for the errno
/// (`FileNotFoundError`, `PermissionError`, …), `strerror` the crate's message
/// that names the step (without its trailing `(os error N)`, which `errno`
/// holds), `filename` the path as the caller passed it.
fn os_error(py: Python<'_>, err: io::Error, filename: Option<&Bound<'_, PyAny>>) -> PyErr {
    // The crate reports a FIFO, socket or device as the target without an OS
    // code: `EINVAL` says the same to Python.
    let code = atomic_write::os_error(&err).or(match err.kind() {
        io::ErrorKind::InvalidInput => Some(libc::EINVAL),
        _ => None,
    });
    new_os_error(py, code, &err.to_string(), filename)
}

/// `OSError(code, message, filename)`, `message` without its `(os error N)`.
fn new_os_error(
    py: Python<'_>,
    code: Option<i32>,
    message: &str,
    filename: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.get_type::<PyOSError>();
        let exc = match code {
            Some(code) => {
                let suffix = format!(" (os error {code})");
                let strerror = message.strip_suffix(&suffix).unwrap_or(message);
                match filename {
                    Some(f) => cls.call1((code, strerror, f))?,
                    None => cls.call1((code, strerror))?,
                }
            }
            None => cls.call1((message,))?,
        };
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// Writes `data` into the temp a chunk at a time, the interpreter's lock
/// released for each, and Python's signal handlers run between them: a
/// `KeyboardInterrupt` ends the write (the caller drops the file: nothing
/// is committed and the temp goes).
fn write_chunks(
    py: Python<'_>,
    file: &mut AtomicFile,
    data: &[u8],
    filename: &Bound<'_, PyAny>,
) -> PyResult<()> {
    for chunk in data.chunks(CHUNK) {
        py.check_signals()?;
        py.detach(|| file.as_file_mut().write_all(chunk))
            .map_err(|e| {
                let message = format!(
                    "failed to write temporary file for {:?}: {e}",
                    file.target()
                );
                new_os_error(py, e.raw_os_error(), &message, Some(filename))
            })?;
    }
    Ok(())
}

/// Replaces `path` with `data` (a `bytes` object, borrowed, not copied);
/// `True` unless `if_changed` found the content already there.
#[pyfunction]
#[pyo3(signature = (path, data, opts, if_changed))]
fn write(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    data: &Bound<'_, PyBytes>,
    opts: Opts,
    if_changed: bool,
) -> PyResult<bool> {
    let (target, filename) = fs_path(path)?;
    let durable = opts.durable;
    let opts = opts.build()?;
    py.check_signals()?;
    let mut file = py
        .detach(|| opts.create(&target))
        .map_err(|e| os_error(py, e, Some(&filename)))?;
    let bytes = data.as_bytes();
    write_chunks(py, &mut file, bytes, &filename)?;
    if bytes.len() > CHUNK && !if_changed && durable {
        // A long write: flush the data now, while a signal can still abandon
        // it, so that the commit's own sync (which no signal interrupts) is
        // short. A failed sync is never retried: the write is abandoned.
        py.detach(|| file.as_file().sync_data()).map_err(|e| {
            let message = format!(
                "failed to sync the temporary file for {:?}: {e}",
                file.target()
            );
            new_os_error(py, e.raw_os_error(), &message, Some(&filename))
        })?;
    }
    // The last point where a signal abandons the write.
    py.check_signals()?;
    py.detach(|| {
        if if_changed {
            file.commit_if_changed()
        } else {
            file.commit().map(|()| true)
        }
    })
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
            .ok_or_else(already_done)
    }

    /// Puts back a file taken by a `commit_all` that then refused the batch.
    fn put_back(&self, file: AtomicFile) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    }
}

fn already_done() -> PyErr {
    PyValueError::new_err("the file was already committed or discarded")
}

#[pymethods]
impl PyAtomicFile {
    /// The temp file's descriptor (owned by this object).
    fn fileno(&self) -> PyResult<i32> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .as_ref()
            .map(|f| f.as_raw_fd())
            .ok_or_else(already_done)
    }

    /// Whether the file was committed or discarded.
    #[getter]
    fn done(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Replaces the target: owner, mode, `fsync`, rename, directory `fsync`;
    /// with `if_changed`, only if that changes something. Returns whether it
    /// replaced the target. A pending signal is raised first, with the write
    /// left as it is (not committed, not discarded).
    #[pyo3(signature = (if_changed=false))]
    fn commit(&self, py: Python<'_>, if_changed: bool) -> PyResult<bool> {
        py.check_signals()?;
        let file = self.take()?;
        py.detach(|| {
            if if_changed {
                file.commit_if_changed()
            } else {
                file.commit().map(|()| true)
            }
        })
        .map_err(|e| os_error(py, e, Some(self.filename.bind(py))))
    }

    /// Removes the temp; the target is untouched. (In a forked child, whose
    /// copy this is not, it removes nothing.)
    fn discard(&self, py: Python<'_>) -> PyResult<()> {
        let file = self.take()?;
        py.detach(|| file.discard())
            .map_err(|e| os_error(py, e, Some(self.filename.bind(py))))
    }
}

/// Starts a write: resolves the target and creates the temp (and, to append,
/// copies the current content into it).
#[pyfunction]
#[pyo3(signature = (path, opts))]
fn create(py: Python<'_>, path: &Bound<'_, PyAny>, opts: Opts) -> PyResult<PyAtomicFile> {
    let (target, filename) = fs_path(path)?;
    let opts = opts.build()?;
    let file = py
        .detach(|| opts.create(&target))
        .map_err(|e| os_error(py, e, Some(&filename)))?;
    Ok(PyAtomicFile {
        inner: Mutex::new(Some(file)),
        filename: filename.unbind(),
    })
}

/// Commits many files together (`atomic_write::commit_all`). A file given
/// twice, or one already done, is refused before anything is taken: every
/// file is then left as it was.
#[pyfunction]
fn commit_all(py: Python<'_>, files: Vec<Bound<'_, PyAtomicFile>>) -> PyResult<()> {
    for (i, f) in files.iter().enumerate() {
        if files[..i].iter().any(|g| g.is(f)) {
            return Err(PyValueError::new_err("commit_all got the same file twice"));
        }
    }
    py.check_signals()?;
    let mut taken = Vec::with_capacity(files.len());
    for f in &files {
        match f.get().take() {
            Ok(file) => taken.push(file),
            Err(e) => {
                for (g, file) in files.iter().zip(taken) {
                    g.get().put_back(file);
                }
                return Err(e);
            }
        }
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

/// Runs the `atomic-write` command line (`argv[0]` first) and returns its
/// exit status: the Rust CLI's own code (`atomic_write::cli::run`), so
/// `python -m atomic_write` and the `atomic-write` script are that program,
/// options, messages, exit statuses and signal handling included. It reads
/// the process's standard input and writes to its standard output and error
/// directly (not through `sys.stdin`/`sys.stdout`). A signal that arrives
/// while it waits for input ends the process, as it ends the binary.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<Bound<'_, PyAny>>) -> PyResult<u8> {
    let args = argv
        .iter()
        .map(|a| {
            if let Ok(b) = a.cast::<PyBytes>() {
                Ok(OsStr::from_bytes(b.as_bytes()).to_os_string())
            } else {
                a.extract::<OsString>()
            }
        })
        .collect::<PyResult<Vec<OsString>>>()?;
    Ok(py.detach(|| atomic_write::cli::run(args)))
}

/// The Rust half of `atomic_write`; use the package, not this module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(write, m)?)?;
    m.add_function(wrap_pyfunction!(create, m)?)?;
    m.add_function(wrap_pyfunction!(commit_all, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_class::<PyAtomicFile>()?;
    Ok(())
}

//! The writers the crash, fault and concurrency harnesses run, all with one
//! interface — `WRITER PATH < data`, exit 0 on success, else exit 1 and one
//! line on stderr ending in `(os error N)`:
//!
//! - the real one, the `atomic-write` CLI (with `O_TMPFILE`, or forced onto the
//!   named-temp path with `ATOMIC_WRITE_NO_TMPFILE=1`);
//! - a correct Python writer, the control that shows a harness does not flag
//!   a writer merely for being a different program;
//! - deliberately broken Python writers, each with one classic mistake, which
//!   every harness must be shown to flag.
//!
//! The self-validating reader used by the harnesses is [`READER_PY`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A writer under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// The CLI, unnamed `O_TMPFILE` temp (the Linux default).
    Cli,
    /// The CLI on the portable named-temp path (`ATOMIC_WRITE_NO_TMPFILE=1`).
    CliNamed,
    /// The CLI with `--no-clobber` (only for new targets).
    CliNoClobber,
    /// The CLI with `--append`: the result is the old content, then stdin.
    CliAppend,
    /// The CLI with `--backup`: the old version is kept as `PATH~`.
    CliBackup,
    /// The CLI with `--backup=numbered`: the old version is kept as
    /// `PATH.~1~` (the scenarios have no numbered backup before).
    CliNumbered,
    /// The CLI with `--if-changed --backup` (and new content: it commits).
    CliIfChanged,
    /// The library's batch path: `examples/batch_writer.rs`, `AtomicFile` +
    /// `commit_all` of PATH and a companion file on the same filesystem, with
    /// the given data sync scheme (`auto`, `syncfs`, `write-then-fsync`,
    /// `fsync-each`).
    LibBatch(&'static str),
    /// A Python writer of the given kind (see [`WRITERS_PY`]).
    Py(&'static str),
}

/// The correct Python writer: temp beside the target, fsync, rename, fsync
/// of the directory, temp removed on error.
pub const GOOD: Writer = Writer::Py("good");
/// Truncates the target and writes it in place.
pub const TRUNCATE_IN_PLACE: Writer = Writer::Py("truncate");
/// Renames the temp without syncing its data.
pub const NO_FSYNC: Writer = Writer::Py("nofsync");
/// Never syncs the directory after the rename.
pub const NO_DIR_FSYNC: Writer = Writer::Py("nodirfsync");
/// Ignores a failed fsync of the temp and renames it anyway.
pub const RENAME_AFTER_FAILED_FSYNC: Writer = Writer::Py("renameafterfail");
/// Retries a failed fsync, and renames if the retry "succeeds" (fsyncgate).
pub const RETRY_FSYNC: Writer = Writer::Py("retryfsync");
/// Ignores every error and reports success.
pub const IGNORES_ERRORS: Writer = Writer::Py("ignoreerrors");
/// Reports errors but leaves its temp file behind.
pub const LEAVES_TEMP: Writer = Writer::Py("leavetemp");
/// Reports success although the directory sync after the rename failed.
pub const IGNORES_DIR_FSYNC_ERROR: Writer = Writer::Py("ignoredirfsyncerror");
/// "No clobber" by checking first, then renaming over: racy.
pub const RACY_NO_CLOBBER: Writer = Writer::Py("racynoclobber");
/// The correct writer with `--no-clobber` semantics (`link`, which fails if the
/// target exists, instead of the rename).
pub const GOOD_NO_CLOBBER: Writer = Writer::Py("goodnoclobber");

impl Writer {
    /// A short name for messages.
    pub fn name(&self) -> String {
        match self {
            Writer::Cli => "atomic-write".into(),
            Writer::CliNamed => "atomic-write (named temp)".into(),
            Writer::CliNoClobber => "atomic-write --no-clobber".into(),
            Writer::CliAppend => "atomic-write --append".into(),
            Writer::CliBackup => "atomic-write --backup".into(),
            Writer::CliNumbered => "atomic-write --backup=numbered".into(),
            Writer::CliIfChanged => "atomic-write --if-changed --backup".into(),
            Writer::LibBatch(scheme) => format!("commit_all ({scheme})"),
            Writer::Py(kind) => format!("python:{kind}"),
        }
    }

    /// Whether this is the crate's CLI (whose temps `sweep` recognises).
    pub fn is_cli(&self) -> bool {
        matches!(
            self,
            Writer::Cli
                | Writer::CliNamed
                | Writer::CliNoClobber
                | Writer::CliAppend
                | Writer::CliBackup
                | Writer::CliNumbered
                | Writer::CliIfChanged
                | Writer::LibBatch(_)
        )
    }

    /// Whether this writer keeps a backup (`PATH~`, or `PATH.~1~`).
    pub fn backs_up(&self) -> bool {
        matches!(
            self,
            Writer::CliBackup | Writer::CliNumbered | Writer::CliIfChanged
        )
    }

    /// Program, arguments and extra environment to replace `target` with stdin.
    pub fn argv(&self, target: &Path) -> (Vec<OsString>, Vec<(&'static str, &'static str)>) {
        match self {
            Writer::Cli => (vec![super::bin().into(), target.into()], vec![]),
            Writer::CliNamed => (
                vec![super::bin().into(), target.into()],
                vec![("ATOMIC_WRITE_NO_TMPFILE", "1")],
            ),
            Writer::CliNoClobber => (
                vec![super::bin().into(), "--no-clobber".into(), target.into()],
                vec![],
            ),
            Writer::CliAppend => (
                vec![super::bin().into(), "--append".into(), target.into()],
                vec![],
            ),
            Writer::CliBackup => (
                vec![super::bin().into(), "--backup".into(), target.into()],
                vec![],
            ),
            Writer::CliNumbered => (
                vec![
                    super::bin().into(),
                    "--backup=numbered".into(),
                    target.into(),
                ],
                vec![],
            ),
            Writer::CliIfChanged => (
                vec![
                    super::bin().into(),
                    "--if-changed".into(),
                    "--backup".into(),
                    target.into(),
                ],
                vec![],
            ),
            Writer::LibBatch(scheme) => (
                vec![
                    batch_writer().into(),
                    "--scheme".into(),
                    (*scheme).into(),
                    target.into(),
                ],
                vec![],
            ),
            Writer::Py(kind) => (
                vec![
                    python().into(),
                    "-I".into(),
                    "-S".into(),
                    script("aw-writers.py", WRITERS_PY).into(),
                    (*kind).into(),
                    target.into(),
                ],
                vec![],
            ),
        }
    }

    /// The command, ready for stdin to be attached.
    pub fn command(&self, target: &Path) -> Command {
        let (argv, env) = self.argv(target);
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]).envs(env);
        c
    }
}

/// A reader process that validates every read of the given paths until the
/// stop file appears, then prints `reads=N bad=N missing=N first='...'`.
pub fn reader(stop: &Path, targets: &[PathBuf]) -> Command {
    let mut c = Command::new(python());
    c.args(["-I", "-S"])
        .arg(script("aw-reader.py", READER_PY))
        .arg(stop)
        .args(targets);
    c
}

/// What a reader process saw.
#[derive(Debug, Default, Clone)]
pub struct ReaderReport {
    pub reads: u64,
    pub bad: u64,
    pub missing: u64,
    pub first: String,
}

impl ReaderReport {
    /// Parses the reader's last line.
    pub fn parse(out: &str) -> ReaderReport {
        let line = out
            .lines()
            .last()
            .unwrap_or_else(|| panic!("reader printed nothing: {out:?}"));
        let field = |k: &str| -> String {
            let start = line
                .find(&format!("{k}="))
                .unwrap_or_else(|| panic!("{line}"))
                + k.len()
                + 1;
            line[start..].split(' ').next().unwrap().to_string()
        };
        let first = line
            .split_once("first=")
            .map(|(_, f)| f.to_string())
            .unwrap_or_default();
        ReaderReport {
            reads: field("reads").parse().unwrap(),
            bad: field("bad").parse().unwrap(),
            missing: field("missing").parse().unwrap(),
            first,
        }
    }

    /// Adds another reader's counts.
    pub fn add(&mut self, o: &ReaderReport) {
        self.reads += o.reads;
        self.bad += o.bad;
        self.missing += o.missing;
        if self.first.is_empty() || self.first == "''" {
            self.first = o.first.clone();
        }
    }

    /// Whether the reader saw anything but whole versions.
    pub fn violations(&self) -> u64 {
        self.bad + self.missing
    }
}

/// The system's Python 3: `/usr/bin/python3` where it exists, rather than a
/// version manager's shim on PATH (a shell script that would add thousands of
/// syscalls to every traced run).
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Writes a script once per test process into cargo's scratch directory for
/// integration tests (atomically: test processes run in parallel) and returns its path.
fn script(name: &str, source: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let path = dir.join(name);
    if std::fs::read(&path).ok().as_deref() != Some(source.as_bytes()) {
        atomic_write::write_text(&path, source)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    path
}

/// The self-validating reader (same format as [`super::versions`]).
pub const READER_PY: &str = r#"
import os, sys, zlib
stop, paths = sys.argv[1], sys.argv[2:]
reads = bad = missing = 0
first = ''
def check(data):
    nl = data.find(b'\n')
    if nl < 0:
        return 'no header in %d bytes' % len(data)
    parts = data[:nl].split(b' ')
    if len(parts) != 4 or parts[0] != b'AWV1':
        return 'bad header %r' % data[:nl][:60]
    body = data[nl + 1:]
    if len(body) != int(parts[2]):
        return 'version %s: %d body bytes, header says %s' % (parts[1].decode(), len(body), parts[2].decode())
    if zlib.crc32(body) != int(parts[3], 16):
        return 'version %s: checksum mismatch' % parts[1].decode()
    return None
while not os.path.exists(stop):
    for p in paths:
        try:
            with open(p, 'rb') as f:
                data = f.read()
        except FileNotFoundError:
            missing += 1
            first = first or ('%s missing' % p)
            continue
        reads += 1
        err = check(data)
        if err:
            bad += 1
            first = first or err
print('reads=%d bad=%d missing=%d first=%r' % (reads, bad, missing, first))
"#;

/// The Python writers: `python3 aw-writers.py KIND PATH < data`.
pub const WRITERS_PY: &str = r#"
import os, sys
kind, path = sys.argv[1], sys.argv[2]
CHUNK = 4096

def fail(e, extra=''):
    sys.stderr.write('%s: %s%s (os error %d)\n' % (path, e.strerror, extra, e.errno))
    sys.exit(1)

def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:CHUNK])
        view = view[n:]

def again(f, *args):
    # Python retries EINTR only for "slow" calls (PEP 475); stat, rename and
    # friends need it done by hand.
    while True:
        try:
            return f(*args)
        except InterruptedError:
            pass

def close(fd):
    # After close() fails with EINTR the fd is gone (Linux): never retry.
    try:
        os.close(fd)
    except InterruptedError:
        pass

data = sys.stdin.buffer.read()

if kind == 'truncate':
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
    except OSError as e:
        fail(e)
    sys.exit(0)

try:
    try:
        real = again(lambda: os.path.realpath(path, strict=True))
    except FileNotFoundError:
        real = again(os.path.realpath, path)
    d, name = os.path.split(real)
    tmp = os.path.join(d, '.%s.pywriter-%s.tmp' % (name, os.urandom(8).hex()))
    try:
        mode = again(os.stat, real).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    if kind == 'racynoclobber' and os.path.lexists(real):
        fail(OSError(17, 'File exists'))
except OSError as e:
    fail(e)
ignore = kind == 'ignoreerrors'

def step(f, *args):
    try:
        return again(f, *args)
    except OSError as e:
        if ignore:
            return None
        if kind != 'leavetemp':
            try:
                os.unlink(tmp)
            except OSError:
                pass
        fail(e)

fd = step(os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
if fd is None:
    sys.exit(0)
step(write_all, fd, data)
if mode is not None:
    step(os.fchmod, fd, mode)
if kind == 'nofsync':
    pass
elif kind == 'renameafterfail':
    try:
        again(os.fsync, fd)
    except OSError:
        pass
elif kind == 'retryfsync':
    try:
        again(os.fsync, fd)
    except OSError:
        step(os.fsync, fd)
else:
    step(os.fsync, fd)
step(close, fd)
if kind == 'goodnoclobber':
    refused = None
    try:
        again(os.link, tmp, real)
    except OSError as e:
        refused = e
    step(os.unlink, tmp)
    if refused:
        fail(refused)
else:
    step(os.rename, tmp, real)
if kind == 'nodirfsync':
    sys.exit(0)
try:
    dfd = again(os.open, d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        again(os.fsync, dfd)
    finally:
        close(dfd)
except OSError as e:
    if kind in ('ignoreerrors', 'ignoredirfsyncerror'):
        sys.exit(0)
    fail(e, ' (renamed into place but failed to sync the directory)')
sys.exit(0)
"#;

/// Reader processes ([`reader`]) validating `targets` until stopped; killed
/// (ours, by PID) on drop if [`Readers::finish`] was not reached.
pub struct Readers {
    stop: PathBuf,
    children: Vec<std::process::Child>,
}

impl Readers {
    /// Starts `n` readers; creating the file `stop` tells them to finish.
    pub fn start(n: usize, stop: PathBuf, targets: &[PathBuf]) -> Readers {
        let children = (0..n)
            .map(|_| {
                reader(&stop, targets)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("start reader")
            })
            .collect();
        Readers { stop, children }
    }

    /// Stops the readers and adds up what they saw.
    pub fn finish(mut self) -> ReaderReport {
        std::fs::write(&self.stop, b"").unwrap();
        let mut total = ReaderReport::default();
        for c in std::mem::take(&mut self.children) {
            let out = c.wait_with_output().expect("reader");
            total.add(&ReaderReport::parse(&String::from_utf8_lossy(&out.stdout)));
        }
        total
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.stop, b"");
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `examples/batch_writer.rs`, built on first use (`cargo test --test X` does
/// not build examples).
pub fn batch_writer() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "--example", "batch_writer"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("run cargo");
            assert!(
                out.status.success(),
                "cargo build --example batch_writer: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // target/debug/deps/<test> -> target/debug/examples/batch_writer
            let exe = std::env::current_exe().unwrap();
            let p = exe
                .parent()
                .and_then(Path::parent)
                .unwrap()
                .join("examples/batch_writer");
            assert!(p.exists(), "{} was not built", p.display());
            p
        })
        .clone()
}

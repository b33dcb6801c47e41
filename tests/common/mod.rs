//! Helpers shared by the integration tests: scratch directories, real mounts
//! that clean up after themselves, privilege dropping, and the CLI binary.
//!
//! Tests that need root, a tool or the full suite's time are
//! `#[ignore = "why"]` (so `cargo test` counts them as ignored, not passed)
//! and call [`require`] / [`require_root`] first: when they are asked for
//! (`-- --include-ignored`), a missing prerequisite fails them.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `atomic-write` binary built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_atomic-write")
}

/// Whether the long, privileged suites were asked for (`ATOMIC_WRITE_FULL_SUITE=1`).
pub fn full_suite() -> bool {
    std::env::var_os("ATOMIC_WRITE_FULL_SUITE").is_some_and(|v| v != "0")
}

/// Whether `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    euid == 0
}

/// Fails the test when `tool` is not on PATH. A test that needs more than a
/// plain Linux user has is `#[ignore = "needs …"]`, so it runs only when asked
/// for (`-- --include-ignored`), and then a missing tool is a failure.
#[track_caller]
pub fn require(tool: &str) {
    if !have(tool) {
        missing(&format!("the tool `{tool}`"));
    }
}

/// Fails the test when not running as root (see [`require`]).
#[track_caller]
pub fn require_root() {
    if !is_root() {
        missing("root privileges");
    }
}

/// Fails the test: a prerequisite of an ignored test that was asked for is missing.
#[track_caller]
pub fn missing(what: &str) -> ! {
    panic!(
        "this test needs {what}, which is missing; it is #[ignore]d by default and \
         runs with --include-ignored only where its prerequisites are there"
    );
}

/// A fresh scratch directory, removed on drop.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("aw-test-")
        .tempdir_in(std::env::var_os("ATOMIC_WRITE_TEST_DIR").unwrap_or_else(|| "/tmp".into()))
        .expect("create scratch dir")
}

/// The names in `dir`, sorted, for asserting that nothing else is there.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Asserts `dir` holds exactly `expected` (no temp files left behind).
#[track_caller]
pub fn assert_only(dir: &Path, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names(dir), want, "unexpected entries in {}", dir.display());
}

/// Reads `path`, naming it on failure.
#[track_caller]
pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Permission bits (with setuid/setgid/sticky) of `path`.
#[track_caller]
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// `(uid, gid)` of `path`.
#[track_caller]
pub fn owner(path: &Path) -> (u32, u32) {
    let m = fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    (m.uid(), m.gid())
}

/// Sets permission bits of `path`.
#[track_caller]
pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// `(dev, ino, mtime)`: a file untouched keeps all of them.
#[track_caller]
pub fn identity(p: &Path) -> (u64, u64, i64, i64) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
    (m.dev(), m.ino(), m.mtime(), m.mtime_nsec())
}

/// Sets a file's mtime an hour back, so that a rewrite cannot keep it by chance.
#[track_caller]
pub fn age(p: &Path) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

/// Runs a command, panicking with its output if it cannot start.
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"))
}

/// Runs a command that must succeed.
#[track_caller]
pub fn sh(cmd: &str) -> Output {
    let out = run(Command::new("sh").arg("-c").arg(cmd));
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command run as the unprivileged user 65534 (nobody) via `setpriv`.
pub fn as_nobody<S: AsRef<OsStr>>(program: S) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    c.arg(program);
    c
}

/// A mount made by a test, unmounted (lazily if busy) on drop.
pub struct Mount {
    pub path: PathBuf,
    /// Kept so the mount point is removed after the unmount.
    _dir: Option<tempfile::TempDir>,
}

impl Mount {
    /// Mounts a tmpfs of `size` (e.g. `"64k"`) with extra `opts` on a fresh directory.
    pub fn tmpfs(size: &str, opts: &str) -> Mount {
        let dir = scratch();
        let mut o = format!("size={size},mode=1777");
        if !opts.is_empty() {
            o.push(',');
            o.push_str(opts);
        }
        sh(&format!(
            "mount -t tmpfs -o {o} aw-test {}",
            shell_quote(dir.path())
        ));
        Mount {
            path: dir.path().to_path_buf(),
            _dir: Some(dir),
        }
    }

    /// Makes a filesystem image of `size` bytes (sparse) with `mkfs.FS_TYPE -q`
    /// (`-F`/`-f` to skip questions) and loop-mounts it on a fresh directory;
    /// unmounting detaches the loop device.
    pub fn image(fs_type: &str, size: u64) -> Mount {
        let dir = scratch();
        let image = dir.path().join("fs.img");
        let mnt = dir.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        fs::File::create(&image).unwrap().set_len(size).unwrap();
        let force = if fs_type.starts_with("ext") {
            "-F"
        } else {
            "-f"
        };
        sh(&format!(
            "mkfs.{fs_type} -q {force} {} >/dev/null && mount -o loop {} {}",
            shell_quote(&image),
            shell_quote(&image),
            shell_quote(&mnt)
        ));
        Mount {
            path: mnt,
            _dir: Some(dir),
        }
    }

    /// Remounts read-only.
    pub fn remount_ro(&self) {
        sh(&format!("mount -o remount,ro {}", shell_quote(&self.path)));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        unmount(&self.path);
    }
}

/// Unmounts `path` (lazily if busy; a loop device set up by `mount -o loop`
/// is detached with it), warning instead of panicking: for `Drop` guards.
pub fn unmount(path: &Path) {
    let p = shell_quote(path);
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("umount {p} || umount -l {p}"))
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("warning: could not unmount {}", path.display());
    }
}

/// Single-quotes a path for `sh -c`.
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

// ---------------------------------------------------------------------------
// Helpers for the behaviour suites (streaming, metadata, symlinks, cli, ...).
// ---------------------------------------------------------------------------

/// Runs a test body once on each temp-file path: the unnamed `O_TMPFILE` temp
/// (`tmpfile`) and the named-temp fallback (`named`), forced on Linux through
/// `Options::unnamed_temp(false)` / the `ATOMIC_WRITE_NO_TMPFILE` env
/// var of the CLI. Each `fn NAME(named: bool) { .. }` becomes a module `NAME`
/// with the tests `NAME::tmpfile` and `NAME::named`; an `#[ignore = "why"]`
/// after the doc comment applies to both.
#[macro_export]
macro_rules! both_paths {
    ($(
        $(#[doc = $doc:literal])*
        $(#[ignore = $why:literal])?
        fn $name:ident($named:ident: bool) $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn body($named: bool) $body
                #[test]
                $(#[ignore = $why])?
                fn tmpfile() {
                    body(false)
                }
                #[test]
                $(#[ignore = $why])?
                fn named() {
                    body(true)
                }
            }
        )*
    };
}

/// `Options` for one temp-file path: `named` forces the named-temp fallback.
pub fn opts(named: bool) -> atomic_write::Options {
    let mut o = atomic_write::Options::new();
    o.unnamed_temp(!named);
    o
}

/// The CLI, on one temp-file path: `named` sets `ATOMIC_WRITE_NO_TMPFILE=1`.
pub fn cli(named: bool) -> Command {
    let mut c = Command::new(bin());
    // Backups as the test asks for them, whatever the caller's environment.
    c.env_remove("VERSION_CONTROL")
        .env_remove("SIMPLE_BACKUP_SUFFIX");
    if named {
        c.env("ATOMIC_WRITE_NO_TMPFILE", "1");
    } else {
        c.env_remove("ATOMIC_WRITE_NO_TMPFILE");
    }
    c
}

/// Runs the CLI with `input` on stdin and returns its output.
#[track_caller]
pub fn cli_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // A writer thread, so a CLI that exits early cannot deadlock the test.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for the CLI");
    feeder.join().unwrap();
    out
}

/// Asserts the CLI failed with status 1 and exactly one stderr line of the form
/// `atomic-write: "<path>": ...` (the path quoted as `{:?}` shows it); returns that line.
#[track_caller]
pub fn assert_io_failure(out: &Output, path: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, got {}; stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "expected exactly one stderr line, got {stderr:?}"
    );
    let prefix = format!("atomic-write: {path:?}: ");
    assert!(
        stderr.starts_with(&prefix),
        "stderr {stderr:?} does not start with {prefix:?}"
    );
    assert!(out.stdout.is_empty(), "unexpected stdout");
    stderr.trim_end().to_string()
}

/// Whether `name` has the shape of this crate's temp names:
/// `.NAME.atomic-write-<16 lowercase hex>.tmp`.
pub fn is_temp_name(name: &[u8]) -> bool {
    let tail = b".atomic-write-".len() + 16 + b".tmp".len();
    if name.len() < 1 + tail || name[0] != b'.' || !name.ends_with(b".tmp") {
        return false;
    }
    let rest = &name[name.len() - tail..];
    rest.starts_with(b".atomic-write-")
        && rest[14..30]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The names in `dir` (raw bytes) that look like our temps.
pub fn temps(dir: &Path) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .filter(|n| is_temp_name(n))
        .collect()
}

/// All entry names in `dir` as raw bytes, sorted.
pub fn raw_names(dir: &Path) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let mut v: Vec<Vec<u8>> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    v.sort();
    v
}

/// Asserts the state of `dir` while a write to `target` (a name in `dir`) is
/// in progress: with an unnamed temp, nothing but `others`; with a named temp,
/// `others` plus exactly one hidden temp whose name starts with `.TARGET`
/// (cut short) and fits `NAME_MAX`. Returns the temp's name, if any.
#[track_caller]
pub fn assert_mid_write(
    dir: &Path,
    others: &[&[u8]],
    target: &[u8],
    named: bool,
) -> Option<Vec<u8>> {
    let all = raw_names(dir);
    let (tmp, rest): (Vec<Vec<u8>>, Vec<Vec<u8>>) = all.into_iter().partition(|n| is_temp_name(n));
    let mut want: Vec<Vec<u8>> = others.iter().map(|s| s.to_vec()).collect();
    want.sort();
    assert_eq!(
        rest,
        want,
        "unexpected entries in {} mid-write",
        dir.display()
    );
    if !named {
        assert!(
            tmp.is_empty(),
            "O_TMPFILE path left a named temp mid-write in {}: {:?}",
            dir.display(),
            tmp
        );
        return None;
    }
    assert_eq!(
        tmp.len(),
        1,
        "expected exactly one named temp in {} mid-write",
        dir.display()
    );
    let t = tmp.into_iter().next().unwrap();
    assert!(
        t.len() <= 255,
        "temp name longer than NAME_MAX: {}",
        t.len()
    );
    let stem_len = target.len().min(t.len() - 1 - 14 - 16 - 4);
    assert_eq!(
        &t[1..1 + stem_len],
        &target[..stem_len],
        "temp name does not start with the target's name"
    );
    Some(t)
}

/// Runs `f` on a thread and panics if it does not finish within `secs`
/// (for calls that must not block, like opening a FIFO).
#[track_caller]
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s (blocked?)"),
    }
}

/// The process umask, read from `/proc/self/status` (no racy umask() call).
pub fn current_umask() -> u32 {
    let s = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = s
        .lines()
        .find(|l| l.starts_with("Umask:"))
        .expect("Umask: line in /proc/self/status");
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).expect("octal umask")
}

/// `chown` of `path`.
#[track_caller]
pub fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// Makes a FIFO at `path`.
#[track_caller]
pub fn mkfifo(path: &Path) {
    sh(&format!("mkfifo {}", shell_quote(path)));
}

/// A re-exec of the current test binary that runs only the `#[ignore]`d test
/// `name`, its full path in the binary (`sandbox::foo_child` in tests/it), as
/// `--exact` wants it (a child-process half of a test that needs its own umask
/// or uid).
/// The child must print [`CHILD_OK`] so the parent knows it really ran.
pub fn child_test(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("current_exe"));
    c.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    c.env("AW_CHILD", "1");
    c
}

/// Whether this process is the child half started by [`child_test`].
pub fn is_child() -> bool {
    std::env::var_os("AW_CHILD").is_some()
}

/// What a child half prints when its checks passed.
pub const CHILD_OK: &str = "AW-CHILD-OK";

/// Asserts that a [`child_test`] run passed and really ran.
#[track_caller]
pub fn assert_child_ok(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child test failed or did not run (in tests/it its name starts with its \
         module: `module::name`): {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scratch directory that the unprivileged user 65534 can enter: the scratch
/// dir itself is opened to `0o755` and a subdirectory `d` is returned with
/// `mode`. Needs root for the privilege-dropping tests that use it.
pub fn scratch_for_nobody(mode: u32) -> (tempfile::TempDir, PathBuf) {
    let t = scratch();
    chmod(t.path(), 0o755);
    let d = t.path().join("d");
    fs::create_dir(&d).unwrap();
    chmod(&d, mode);
    (t, d)
}

/// A child process killed (by its PID) and reaped on drop, unless waited for.
pub struct ChildGuard(pub Option<std::process::Child>);

impl ChildGuard {
    pub fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("child still owned")
    }
    pub fn take(&mut self) -> std::process::Child {
        self.0.take().expect("child still owned")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `cond` every few milliseconds for up to `secs`; panics with `what` if
/// it never holds.
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Whether process `pid` holds an unnamed `O_TMPFILE` file open in `dir`
/// (its `/proc/PID/fd` link reads `DIR/#INODE (deleted)`).
pub fn holds_unnamed_temp(pid: u32, dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let prefix = format!("{}/#", dir.display());
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .any(|l| {
            let l = l.to_string_lossy();
            l.starts_with(&prefix) && l.ends_with(" (deleted)")
        })
}

/// Sends `sig` to the process `pid` (one we started).
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions; the PID is a child of ours.
    #[allow(unsafe_code)]
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(
        r,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// The size of the temp file that process `pid` is writing in `dir`: a named
/// temp in `dir`, or an unnamed one held open (found through `/proc/PID/fd`).
pub fn temp_size(pid: u32, dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(t) = temps(dir).pop() {
        return fs::metadata(dir.join(OsStr::from_bytes(&t)))
            .ok()
            .map(|m| m.len());
    }
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let prefix = format!("{}/#", real.display());
    fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| {
            fs::read_link(e.path()).is_ok_and(|l| {
                let l = l.to_string_lossy();
                l.starts_with(&prefix) && l.ends_with(" (deleted)")
            })
        })
        .and_then(|e| fs::metadata(e.path()).ok())
        .map(|m| m.len())
}

/// Peak resident set size (`VmHWM`) of process `pid`, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Waits for `child` up to `secs`; panics (the [`ChildGuard`] then kills it)
/// if it is still running, so a child that ignores a signal fails the test
/// instead of hanging it.
#[track_caller]
pub fn wait_timeout(g: &mut ChildGuard, secs: u64) -> std::process::ExitStatus {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = g.child().try_wait().expect("try_wait") {
            g.0 = None;
            return status;
        }
        assert!(
            std::time::Instant::now() < end,
            "child {} still running after {secs} s",
            g.child().id()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

// Crash, fault and concurrency suites (issue 3).
pub mod scenario;
#[cfg(target_os = "linux")]
pub mod seccomp;
pub mod trace;
pub mod versions;
pub mod writers;

//! Helpers shared by the integration tests: scratch directories, real mounts
//! that clean up after themselves, privilege dropping, and the CLI binary.
//!
//! Tests that need a tool or root call [`require`] / [`require_root`]: under
//! `CI=true` a missing prerequisite is a failure, elsewhere the test says why
//! it did not run and returns.
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

/// Whether we run under CI, where a missing prerequisite fails the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Returns false (after saying why) when `tool` is not on PATH; panics under CI.
#[must_use]
pub fn require(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing(&format!("the tool `{tool}`"));
    }
    found
}

/// Returns false (after saying why) when not running as root; panics under CI.
#[must_use]
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        missing("root privileges");
    }
    root
}

fn missing(what: &str) {
    if in_ci() {
        panic!("this test needs {what}, which is missing (CI=true: failing instead of skipping)");
    }
    eprintln!("SKIPPED: this test needs {what}");
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

    /// Remounts read-only.
    pub fn remount_ro(&self) {
        sh(&format!("mount -o remount,ro {}", shell_quote(&self.path)));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let p = shell_quote(&self.path);
        let ok = Command::new("sh")
            .arg("-c")
            .arg(format!("umount {p} || umount -l {p}"))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("warning: could not unmount {}", self.path.display());
        }
    }
}

/// Single-quotes a path for `sh -c`.
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

// Crash, fault and concurrency suites (issue 3).
pub mod scenario;
pub mod trace;
pub mod versions;
pub mod writers;

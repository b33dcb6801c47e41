//! The copies made where a link is refused, under a real seccomp filter
//! (tests/common/seccomp.rs) in the child process:
//!
//! - the write's unnamed temp, which may not be linked (a sandbox denying
//!   `linkat`), copied into a named temp: a new file gets the mode the
//!   unnamed temp was created with (`0666` less the umask), not the named
//!   temp's `0600`;
//! - the backup's copy, where the target may not be hard-linked: the
//!   owner and mode a filesystem cannot set at all (`ENOSYS`, `EOPNOTSUPP`
//!   from `fchown`/`fchmod`, as `fusefat` answers) are skipped and the backup
//!   is made; any other error (`EPERM`, `EIO`) fails the write, which leaves
//!   the target as it was.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

use crate::common::seccomp::{deny, Deny};
use crate::common::*;

/// The CLI on the unnamed-temp path, under `rules` and umask `umask`.
fn cli_under(rules: &[Deny], umask: u32) -> Command {
    let mut c = cli(false);
    // SAFETY: one async-signal-safe call, in the child between fork and exec.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    deny(&mut c, rules);
    c
}

#[track_caller]
fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new file whose unnamed temp may not be linked (`linkat` denied
/// altogether, so neither `AT_EMPTY_PATH` nor `/proc/self/fd`) is copied
/// into a named temp, created `0600`; the result gets the unnamed temp's
/// mode, `0666` less the umask, as any new file: a plain write, `-n`, and
/// `--validate` (which names the temp before the commit).
#[test]
fn new_file_keeps_the_unnamed_temps_mode() {
    for e in [libc::EPERM, libc::ENOSYS] {
        for umask in [0o022, 0o027, 0o002, 0o077] {
            let want = 0o666 & !umask;
            let rules = [Deny::call(libc::SYS_linkat, e)];
            let d = scratch();
            for (name, args) in [
                ("plain", &[][..]),
                ("excl", &["-n"][..]),
                ("checked", &["--validate", "test -s %s"][..]),
            ] {
                let what = format!("{name}: linkat denied ({e}), umask {umask:03o}");
                let p = d.path().join(name);
                let out = cli_input(cli_under(&rules, umask).args(args).arg(&p), b"new\n");
                ok(&out, &what);
                assert_eq!(read(&p), b"new\n", "{what}");
                assert_eq!(mode(&p), want, "{what}: mode {:03o}", mode(&p));
            }
            assert_eq!(names(d.path()), ["checked", "excl", "plain"], "a temp left");
        }
    }
}

/// The backup's own `linkat` (no flags: a hard link of the target by name),
/// denied as a filesystem without hard links refuses it; the write's temp is
/// still linked (`AT_EMPTY_PATH`, `AT_SYMLINK_FOLLOW`).
fn backup_link_denied() -> Deny {
    let flags = (libc::AT_EMPTY_PATH | libc::AT_SYMLINK_FOLLOW) as u32;
    Deny::without_flag(libc::SYS_linkat, 4, flags, libc::EPERM)
}

/// A target `t` (mode `0644`, the writer's) in a new scratch directory.
fn target() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = scratch();
    let t = d.path().join("t");
    std::fs::write(&t, b"old\n").unwrap();
    chmod(&t, 0o644);
    (d, t)
}

/// The backup is a copy where the target may not be hard-linked; its mode
/// is set with `fchmod` (the copy is created `0600`). A filesystem that
/// cannot set one (`ENOSYS`, `EOPNOTSUPP`) leaves the copy `0600` and the
/// backup is made; `EPERM` or `EIO` fails the write and leaves the target
/// and the previous state as they were. On the unnamed-temp path, whose temp
/// is created with the target's mode (umask `022`): the write itself calls
/// no `fchmod`.
#[test]
fn backup_copy_mode_unsupported_vs_failing() {
    // No fchmod denied: the copy gets the target's mode.
    let (d, t) = target();
    let out = cli_input(
        cli_under(&[backup_link_denied()], 0o022)
            .arg("--backup")
            .arg(&t),
        b"new\n",
    );
    ok(&out, "backup link denied");
    let backup = d.path().join("t~");
    assert_eq!(read(&backup), b"old\n");
    assert_eq!(mode(&backup), 0o644);
    assert_eq!(mode(&t), 0o644);
    assert_eq!(names(d.path()), ["t", "t~"]);

    for e in [libc::ENOSYS, libc::EOPNOTSUPP] {
        let what = format!("backup copied, fchmod answered {e}");
        let (d, t) = target();
        let rules = [backup_link_denied(), Deny::call(libc::SYS_fchmod, e)];
        let out = cli_input(cli_under(&rules, 0o022).arg("--backup").arg(&t), b"new\n");
        ok(&out, &what);
        assert_eq!(read(&t), b"new\n", "{what}");
        assert_eq!(mode(&t), 0o644, "{what}");
        let backup = d.path().join("t~");
        assert_eq!(read(&backup), b"old\n", "{what}");
        // Narrower than the target's, never wider.
        assert_eq!(mode(&backup), 0o600, "{what}");
        assert_eq!(names(d.path()), ["t", "t~"], "{what}");
    }

    for e in [libc::EPERM, libc::EIO] {
        let what = format!("backup copied, fchmod answered {e}");
        let (d, t) = target();
        let rules = [backup_link_denied(), Deny::call(libc::SYS_fchmod, e)];
        let out = cli_input(cli_under(&rules, 0o022).arg("--backup").arg(&t), b"new\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("os error {e}")),
            "{what}: {stderr}"
        );
        assert!(stderr.contains("back up"), "{what}: {stderr}");
        assert_eq!(read(&t), b"old\n", "{what}");
        assert_eq!(names(d.path()), ["t"], "{what}: a temp or backup left");
    }
}

/// As [`backup_copy_mode_unsupported_vs_failing`] for the owner: a target
/// of another user (`65534`), backed up by root through the library (the
/// write itself keeps no owner, so it calls no `fchown`); `fchown` answered
/// `ENOSYS` or `EOPNOTSUPP` leaves the copy root's, `EIO` fails the write.
#[test]
#[ignore = "needs root: gives the target to another user"]
fn backup_copy_owner_unsupported_vs_failing() {
    require_root();
    for e in [libc::ENOSYS, libc::EOPNOTSUPP, libc::EIO] {
        let mut c = child_test("copies::backup_copy_owner_child");
        c.env("AW_ERRNO", e.to_string());
        deny(
            &mut c,
            &[backup_link_denied(), Deny::call(libc::SYS_fchown, e)],
        );
        assert_child_ok(&run(&mut c));
    }
}

#[test]
#[ignore = "child process of backup_copy_owner_unsupported_vs_failing"]
fn backup_copy_owner_child() {
    if !is_child() {
        return;
    }
    let e: i32 = std::env::var("AW_ERRNO").unwrap().parse().unwrap();
    let (d, t) = target();
    chown(&t, 65534, 65534);
    let r = opts(false)
        .preserve_owner(false)
        .backup("~")
        .write_bytes(&t, b"new\n");
    let backup = d.path().join("t~");
    if e == libc::EIO {
        let err = r.expect_err("fchown answered EIO");
        assert_eq!(atomic_write::os_error(&err), Some(libc::EIO), "{err}");
        assert_eq!(read(&t), b"old\n");
        assert_eq!(owner(&t), (65534, 65534));
        assert_eq!(names(d.path()), ["t"], "a temp or backup left");
    } else {
        r.unwrap_or_else(|err| panic!("fchown answered {e}: {err}"));
        assert_eq!(read(&t), b"new\n");
        assert_eq!(read(&backup), b"old\n");
        // The owner could not be given: the copy is the writer's, with
        // the target's mode.
        assert_eq!(owner(&backup), (0, 0));
        assert_eq!(mode(&backup), 0o644);
        assert_eq!(names(d.path()), ["t", "t~"]);
    }
    println!("{CHILD_OK}");
}

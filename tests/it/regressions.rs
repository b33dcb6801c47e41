//! Regression tests for what the fuzz targets (`fuzz/`) and the model test
//! (`tests/model.rs`) found. Each names the target that found it.

use crate::common;

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use crate::common::{assert_only, read, scratch};

/// Found by the `paths` fuzz target (input `box/box/.`): `std::path::absolute`
/// drops a trailing `.`, so `dir/new/.` created `dir/new` and `dir/file/.`
/// replaced `dir/file`. A path whose last component is `.` names a directory,
/// never a file to write (the shell's `>` refuses it too); the same through a
/// symlink whose target ends in `/.`.
#[test]
fn trailing_dot_is_not_a_file_name() {
    let dir = scratch();
    let d = dir.path();
    fs::write(d.join("file"), "old").unwrap();
    symlink("new/.", d.join("link-new")).unwrap();
    symlink("file/.", d.join("link-file")).unwrap();
    for p in ["new/.", "file/.", ".", "link-new", "link-file"] {
        let path = d.join(p);
        let err = atomic_write::write_bytes(&path, b"new").expect_err(p);
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{p}: {err}");
        assert!(atomic_write::AtomicFile::create(&path).is_err(), "{p}");
    }
    assert_eq!(read(&d.join("file")), b"old");
    assert_only(d, &["file", "link-file", "link-new"]);
}

/// The `cli_args` fuzz target runs the parser alone; this shows the binary
/// itself exits 2 on usage errors before touching anything: no output file, no
/// temp, standard input not read, nothing on standard output.
#[test]
fn cli_usage_errors_write_nothing() {
    let dir = scratch();
    let argvs: &[&[&str]] = &[
        &[],
        &["--mode", "8", "out"],
        &["-m", "0o17777", "out"],
        &["--bogus", "out"],
        &["out", "extra"],
        &["--sweep", "-n", "out"],
        &["--older-than", "5", "out"],
        // Found by the `cli_args` fuzz target: clap deemed `--older-than`'s
        // `requires = "sweep"` met when an option that conflicts with --sweep
        // was given, so these were accepted and --older-than ignored.
        &["-n", "--older-than=0", "out"],
        &["--mode", "644", "--older-than", "5", "out"],
        &["-a", "--older-than", "5", "out"],
        &["--no-sync", "--older-than", "5", "out"],
        &["--no-follow", "--older-than", "5", "out"],
        &["--older-than", "5", "out", "--", "true"],
        &["--sweep", "out", "--", "true"],
        &["-m"],
        &["--mode=", "out"],
    ];
    for argv in argvs {
        let out = Command::new(common::bin())
            .args(*argv)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{argv:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{argv:?}: no message");
        assert_only(dir.path(), &[]);
    }
}

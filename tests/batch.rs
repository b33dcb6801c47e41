//! `commit_all`: many files, each atomic, all durable on `Ok`, nothing left
//! behind on an error that names the failing target.

mod common;

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::Command;

use atomic_write::{commit_all, AtomicFile, Durability, Options};

fn create(path: &Path, data: &[u8]) -> AtomicFile {
    let mut f = AtomicFile::create(path).unwrap_or_else(|e| panic!("create {path:?}: {e}"));
    f.write_all(data).unwrap();
    f
}

#[test]
fn commits_every_file() {
    let dir = common::scratch();
    let d = dir.path();
    fs::write(d.join("old"), b"old content").unwrap();
    common::chmod(&d.join("old"), 0o600);
    let files: Vec<AtomicFile> = (0..20)
        .map(|i| create(&d.join(format!("f{i:02}")), format!("file {i}").as_bytes()))
        .chain([create(&d.join("old"), b"new content")])
        .collect();
    commit_all(files).unwrap();
    for i in 0..20 {
        let name = format!("f{i:02}");
        assert_eq!(common::read(&d.join(&name)), format!("file {i}").as_bytes());
    }
    assert_eq!(common::read(&d.join("old")), b"new content");
    assert_eq!(common::mode(&d.join("old")), 0o600, "mode kept");
    let mut expected: Vec<String> = (0..20).map(|i| format!("f{i:02}")).collect();
    expected.push("old".into());
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    common::assert_only(d, &expected);
}

#[test]
fn empty_batch_is_ok() {
    commit_all(Vec::<AtomicFile>::new()).unwrap();
}

#[test]
fn several_directories_and_named_temps() {
    let dir = common::scratch();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    let mut named = Options::new();
    named.force_named_temp(true);
    let mut files = Vec::new();
    for (i, d) in [&a, &b, &a, &b].into_iter().enumerate() {
        files.push(create(&d.join(format!("x{i}")), b"data"));
        let mut f = named.create(d.join(format!("n{i}"))).unwrap();
        f.write_all(b"named").unwrap();
        files.push(f);
    }
    let mut none = Options::new();
    none.durability(Durability::None);
    let mut f = none.create(a.join("scratch")).unwrap();
    f.write_all(b"fast").unwrap();
    files.push(f);
    commit_all(files).unwrap();
    common::assert_only(&a, &["n0", "n2", "scratch", "x0", "x2"]);
    common::assert_only(&b, &["n1", "n3", "x1", "x3"]);
    assert_eq!(common::read(&a.join("n2")), b"named");
    assert_eq!(common::read(&a.join("scratch")), b"fast");
}

/// Each distinct directory is synced once, and the data takes one `syncfs`
/// (ext4, xfs, btrfs, tmpfs) instead of one `fsync` per file.
#[test]
fn syncs_each_directory_once() {
    if !common::require("strace") {
        return;
    }
    // Re-run this test binary under strace; the child does the batch.
    if let Some(dir) = std::env::var_os("ATOMIC_WRITE_BATCH_CHILD") {
        let dir = Path::new(&dir);
        let mut files = Vec::new();
        for i in 0..10 {
            for sub in ["a", "b"] {
                files.push(create(&dir.join(sub).join(format!("f{i}")), b"data"));
            }
        }
        commit_all(files).unwrap();
        return;
    }
    let dir = common::scratch();
    let d = dir.path();
    fs::create_dir(d.join("a")).unwrap();
    fs::create_dir(d.join("b")).unwrap();
    let log = d.join("strace.log");
    let out = common::run(
        Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=fsync,fdatasync,syncfs,sync_file_range,renameat,fstatfs",
                "-o",
            ])
            .arg(&log)
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "syncs_each_directory_once", "--test-threads=1"])
            .env("ATOMIC_WRITE_BATCH_CHILD", d),
    );
    assert!(
        out.status.success(),
        "child failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&log).unwrap();
    let count = |name: &str| {
        text.lines()
            .filter(|l| {
                l.split_once(' ')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with(&format!("{name}(")))
            })
            .count()
    };
    assert_eq!(count("renameat"), 20, "{text}");
    // The scratch dir is on a filesystem whose syncfs is trusted here (tmp on
    // ext4 or tmpfs); elsewhere the files are fsynced one by one.
    let trusted = ["ext2/ext3", "ext4", "xfs", "btrfs", "tmpfs"].contains(&fs_type(d).as_str());
    if trusted {
        assert_eq!(count("syncfs"), 1, "{text}");
        assert_eq!(count("sync_file_range"), 20, "{text}");
        assert_eq!(count("fsync"), 2, "one fsync per directory only:\n{text}");
    } else {
        assert_eq!(count("syncfs"), 0, "{text}");
        assert_eq!(count("fsync"), 22, "{text}");
    }
}

fn fs_type(p: &Path) -> String {
    let out = common::sh(&format!("stat -f -c %T {}", common::shell_quote(p)));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A failure halfway — the 3rd target turned into a directory after `create` —
/// renames the files before it, leaves the rest untouched and no temp
/// anywhere, and the error names the target.
#[test]
fn failure_midway_discards_the_rest_and_names_the_target() {
    for named in [false, true] {
        let dir = common::scratch();
        let d = dir.path();
        for i in 0..5 {
            fs::write(d.join(format!("f{i}")), b"old").unwrap();
        }
        let mut opts = Options::new();
        opts.force_named_temp(named);
        let files: Vec<AtomicFile> = (0..5)
            .map(|i| {
                let mut f = opts.create(d.join(format!("f{i}"))).unwrap();
                f.write_all(b"new").unwrap();
                f
            })
            .collect();
        fs::remove_file(d.join("f2")).unwrap();
        fs::create_dir(d.join("f2")).unwrap();
        fs::write(d.join("f2/keep"), b"x").unwrap();
        let err = commit_all(files).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("f2"), "error does not name the target: {msg}");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::IsADirectory | io::ErrorKind::DirectoryNotEmpty
            ),
            "{err:?}"
        );
        assert_eq!(common::read(&d.join("f0")), b"new");
        assert_eq!(common::read(&d.join("f1")), b"new");
        assert_eq!(common::read(&d.join("f3")), b"old");
        assert_eq!(common::read(&d.join("f4")), b"old");
        common::assert_only(d, &["f0", "f1", "f2", "f3", "f4"]);
        common::assert_only(&d.join("f2"), &["keep"]);
    }
}

/// `no_clobber` racing another creator: that file fails with `AlreadyExists`,
/// naming it; the files after it are discarded.
#[test]
fn no_clobber_conflict_names_the_target() {
    let dir = common::scratch();
    let d = dir.path();
    let mut nc = Options::new();
    nc.no_clobber(true);
    let mut files = vec![create(&d.join("a"), b"a")];
    let mut f = nc.create(d.join("b")).unwrap();
    f.write_all(b"mine").unwrap();
    files.push(f);
    files.push(create(&d.join("c"), b"c"));
    fs::write(d.join("b"), b"theirs").unwrap();
    let err = commit_all(files).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains(r#"/b""#), "{err}");
    assert_eq!(common::read(&d.join("a")), b"a");
    assert_eq!(common::read(&d.join("b")), b"theirs");
    common::assert_only(d, &["a", "b"]);
}

/// The first target fails: nothing is renamed, every target is untouched,
/// and no temp is left, named (fallback) or not.
#[test]
fn failure_on_the_first_file_changes_nothing() {
    let dir = common::scratch();
    let d = dir.path();
    fs::write(d.join("b"), b"old").unwrap();
    let mut named = Options::new();
    named.force_named_temp(true);
    let mut first = named.create(d.join("a")).unwrap();
    first.write_all(b"new").unwrap();
    let mut second = named.create(d.join("b")).unwrap();
    second.write_all(b"new").unwrap();
    let files = vec![first, second, create(&d.join("c"), b"new")];
    fs::create_dir(d.join("a")).unwrap();
    fs::write(d.join("a/keep"), b"x").unwrap();
    let err = commit_all(files).unwrap_err();
    assert!(err.to_string().contains(r#"/a""#), "{err}");
    assert_eq!(common::read(&d.join("b")), b"old");
    common::assert_only(d, &["a", "b"]);
}

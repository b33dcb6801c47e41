//! Writes that leave an unchanged target alone, in the library and the CLI
//! (`commit_if_changed` / `--if-changed`). Their behaviour under crashes and
//! power loss is in tests/crash_kill.rs and tests/power_fuse.rs.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use atomic_write::Options;

use crate::common::*;

/// Streams `data` into a new `AtomicFile` and commits it if changed.
fn write_if_changed(opts: &Options, p: &Path, data: &[u8]) -> io::Result<bool> {
    let mut f = opts.create(p)?;
    f.write_all(data)?;
    f.commit_if_changed()
}

both_paths! {
    /// Identical content: `Ok(false)`, the target keeps its inode and mtime,
    /// no temp is left. Different content of the same size, or another size:
    /// `Ok(true)` and a new file.
    fn if_changed_leaves_identical_content_alone(named: bool) {
        let d = scratch();
        let p = d.path().join("gen.rs");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&p, &data).unwrap();
        chmod(&p, 0o640);
        age(&p);
        let before = identity(&p);
        assert!(!write_if_changed(&opts(named), &p, &data).unwrap());
        assert_eq!(identity(&p), before, "an unchanged target was rewritten");
        assert_only(d.path(), &["gen.rs"]);

        // One byte differs, near the end (past the first compared blocks).
        let mut other = data.clone();
        other[299_000] ^= 1;
        assert!(write_if_changed(&opts(named), &p, &other).unwrap());
        assert_ne!(identity(&p).1, before.1);
        assert_eq!(read(&p), other);
        assert_eq!(mode(&p), 0o640, "the mode is kept as by commit()");
        // Shorter, then empty, then empty again.
        assert!(write_if_changed(&opts(named), &p, &other[..10]).unwrap());
        assert!(write_if_changed(&opts(named), &p, b"").unwrap());
        let before = identity(&p);
        assert!(!write_if_changed(&opts(named), &p, b"").unwrap());
        assert_eq!(identity(&p), before);
        assert_only(d.path(), &["gen.rs"]);
    }

    /// A missing target is created (`Ok(true)`); an explicit mode other than
    /// the target's is a change, the same mode is not.
    fn if_changed_new_target_and_mode(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        assert!(write_if_changed(&opts(named), &p, b"x").unwrap());
        assert_eq!(read(&p), b"x");
        chmod(&p, 0o600);
        let before = identity(&p);
        assert!(!write_if_changed(opts(named).mode(0o600), &p, b"x").unwrap());
        assert_eq!(identity(&p), before);
        assert!(write_if_changed(opts(named).mode(0o644), &p, b"x").unwrap());
        assert_eq!(mode(&p), 0o644);
        assert_ne!(identity(&p).1, before.1);
        assert_only(d.path(), &["f"]);
    }

    /// Through a symlink the file it names is compared (and left alone); with
    /// `follow_symlinks(false)` the link itself is the target, and a link is
    /// never "the same" as a file: it is replaced.
    fn if_changed_symlinks(named: bool) {
        let d = scratch();
        let (real, link) = (d.path().join("real"), d.path().join("link"));
        fs::write(&real, b"same").unwrap();
        symlink("real", &link).unwrap();
        let before = identity(&real);
        assert!(!write_if_changed(&opts(named), &link, b"same").unwrap());
        assert_eq!(identity(&real), before);
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(write_if_changed(opts(named).follow_symlinks(false), &link, b"same").unwrap());
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(identity(&real), before);
    }

    /// With `no_clobber` it is `commit`: an existing target is an error even
    /// with the same content, a new one is created.
    fn if_changed_with_no_clobber(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        assert!(write_if_changed(opts(named).no_clobber(true), &p, b"a").unwrap());
        let err = write_if_changed(opts(named).no_clobber(true), &p, b"a").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert_only(d.path(), &["f"]);
    }

    /// With a backup: unchanged content makes no backup (target and old backup
    /// untouched); changed content does.
    fn if_changed_with_backup(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"v1").unwrap();
        fs::write(d.path().join("f~"), b"v0").unwrap();
        assert!(!write_if_changed(opts(named).backup("~"), &p, b"v1").unwrap());
        assert_eq!(read(&d.path().join("f~")), b"v0");
        assert!(write_if_changed(opts(named).backup("~"), &p, b"v2").unwrap());
        assert_eq!(read(&d.path().join("f~")), b"v1");
        assert_eq!(read(&p), b"v2");
        assert_only(d.path(), &["f", "f~"]);
    }
}

/// The compare is streamed: different sizes are told by `fstat` alone (no
/// read at all); equal sizes are read in positioned blocks of at most 64 KiB,
/// stopping at the first difference; an unchanged target costs no sync.
#[test]
#[ignore = "needs strace"]
fn if_changed_compare_is_streamed_and_syncs_nothing() {
    require("strace");
    let d = scratch();
    let p = d.path().join("big");
    let data: Vec<u8> = (0..(4 << 20) as u32).map(|i| (i % 253) as u8).collect();
    fs::write(&p, &data).unwrap();
    let input = d.path().join("input");
    let trace = |content: &[u8]| -> String {
        fs::write(&input, content).unwrap();
        let log = d.path().join("trace");
        let out = run(Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=pread64,read,fcntl,fsync,fdatasync,rename,renameat,renameat2,linkat",
                "-o",
            ])
            .arg(&log)
            .arg(bin())
            .args(["--if-changed", "--print-changed"])
            .arg(&p)
            .stdin(fs::File::open(&input).unwrap()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = fs::read_to_string(&log).unwrap();
        format!("{}\n{log}", String::from_utf8_lossy(&out.stdout))
    };
    // The compare's reads: after main started (its `fcntl(0, F_GETFL)`
    // checking standard input), not the dynamic loader's.
    let preads = |log: &str| -> Vec<u64> {
        log.lines()
            .skip_while(|l| !l.contains("fcntl(0, F_GETFL"))
            .filter(|l| l.contains("pread64("))
            .filter_map(|l| l.rsplit("= ").next()?.trim().parse().ok())
            .collect()
    };
    // Same content: read in blocks, both files whole, nothing synced or renamed.
    let log = trace(&data);
    assert!(log.starts_with("unchanged\n"), "{log}");
    let reads = preads(&log);
    assert!(
        reads.iter().all(|&n| n <= 64 << 10),
        "a read over 64 KiB:\n{log}"
    );
    // The target whole, in positioned reads; the input is compared as it is
    // read (`read`), before any temp exists (issue 15 item 5).
    assert_eq!(reads.iter().sum::<u64>(), data.len() as u64, "{log}");
    for call in ["fsync(", "fdatasync(", "rename", "linkat("] {
        assert!(
            !log.contains(call),
            "an unchanged target cost a {call}:\n{log}"
        );
    }
    // A difference in the first block: the compare stops there.
    let mut early = data.clone();
    early[10] ^= 1;
    let log = trace(&early);
    assert!(log.starts_with("changed\n"), "{log}");
    assert!(preads(&log).iter().sum::<u64>() <= 2 * (64 << 10), "{log}");
    assert!(log.contains("fsync("), "{log}");
    // Another size: no read of either file.
    let log = trace(&data[..1000]);
    assert!(log.starts_with("changed\n"), "{log}");
    assert!(
        preads(&log).is_empty(),
        "sizes differ, yet the files were read:\n{log}"
    );
}

both_paths! {
    /// `--if-changed` alone is quiet and exits 0 either way; with
    /// `--print-changed` it says `changed` or `unchanged` on stdout.
    fn cli_if_changed(named: bool) {
        let d = scratch();
        let p = d.path().join("conf");
        let out = cli_input(cli(named).args(["--if-changed", "--print-changed"]).arg(&p), b"a=1\n");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"changed\n");
        age(&p);
        let before = identity(&p);
        let out = cli_input(cli(named).args(["--if-changed", "--print-changed"]).arg(&p), b"a=1\n");
        assert!(out.status.success());
        assert_eq!(out.stdout, b"unchanged\n");
        assert_eq!(identity(&p), before);
        let out = cli_input(cli(named).arg("--if-changed").arg(&p), b"a=1\n");
        assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
        assert_eq!(identity(&p), before);
        let out = cli_input(cli(named).arg("--if-changed").arg(&p), b"a=2\n");
        assert!(out.status.success() && out.stdout.is_empty());
        assert_eq!(read(&p), b"a=2\n");
        // With a command: its output is compared.
        let before = identity(&p);
        let out = run(cli(named)
            .args(["--if-changed", "--print-changed"])
            .arg(&p)
            .args(["--", "printf", "a=2\\n"]));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout, b"unchanged\n");
        assert_eq!(identity(&p), before);
        // --print-changed needs --if-changed: a usage error.
        let out = cli_input(cli(named).arg("--print-changed").arg(&p), b"x");
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(read(&p), b"a=2\n");
        assert_only(d.path(), &["conf"]);
    }
}

/// A target the writer may replace but not read (mode 0200 in a directory it
/// may write) cannot be shown unchanged: it is replaced, not an error.
#[test]
#[ignore = "needs root, setpriv"]
fn if_changed_unreadable_target_counts_as_changed() {
    require_root();
    require("setpriv");
    let (_t, d) = scratch_for_nobody(0o777);
    let p = d.join("f");
    fs::write(&p, b"same").unwrap();
    chown(&p, 65534, 65534);
    chmod(&p, 0o200);
    let out = cli_input(
        as_nobody(bin())
            .args(["--if-changed", "--print-changed"])
            .arg(&p),
        b"same",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"changed\n");
    assert_eq!(read(&p), b"same");
    assert_eq!(mode(&p), 0o200);
    assert_only(&d, &["f"]);
}

/// `--if-changed` needs no space when nothing changes: identical content is
/// compared as it is read and no temp is created, so on a full tmpfs and on a
/// read-only one it reports "unchanged" and exits 0 (main wrote the whole
/// temp first: `ENOSPC`, `EROFS`) — from standard input, with `-m` equal to
/// the file's mode, and from `-- COMMAND`'s output (whose exit status still
/// decides: a failing command with identical output fails with its status).
/// A difference found late (past the first blocks) still commits the whole
/// new content: the identical prefix is copied from the target. Root
/// (mounts). Issue 15, item 5.
#[test]
#[ignore = "needs root (tmpfs mounts)"]
fn if_changed_needs_no_space_when_unchanged() {
    require_root();
    for named in [false, true] {
        let m = Mount::tmpfs("1m", "");
        let f = m.path.join("f");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(&f, &data).unwrap();
        chmod(&f, 0o640);
        // Fill the rest: not even a block is left.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cat /dev/zero > {}",
                shell_quote(&m.path.join("fill"))
            ))
            .status();
        let run = |input: &[u8]| {
            cli_input(
                cli(named).args(["--if-changed", "--print-changed"]).arg(&f),
                input,
            )
        };
        let out = run(&data);
        assert!(
            out.status.success(),
            "full tmpfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"unchanged\n");
        // An explicit mode that is the file's own changes nothing either.
        let out = cli_input(
            cli(named)
                .args(["--if-changed", "--print-changed", "-m", "640"])
                .arg(&f),
            &data,
        );
        assert!(
            out.status.success(),
            "full tmpfs, -m 640: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"unchanged\n");
        // The same content as a command's output (a pipe, compared as read).
        let src = scratch();
        let same = src.path().join("same");
        fs::write(&same, &data).unwrap();
        let out = command(named, &f, &format!("cat {}", shell_quote(&same)));
        assert!(
            out.status.success(),
            "full tmpfs, -- COMMAND: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"unchanged\n");
        // A command that fails is a failure, identical output or not.
        let out = command(named, &f, &format!("cat {}; exit 3", shell_quote(&same)));
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_eq!(read(&f), data);
        assert_only(&m.path, &["f", "fill"]);
        // Room again: a difference near the end commits the whole of it.
        fs::remove_file(m.path.join("fill")).unwrap();
        let mut other = data.clone();
        other[290_000] ^= 0xff;
        other.extend_from_slice(b"tail");
        let out = run(&other);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"changed\n");
        assert_eq!(read(&f), other);
        assert_eq!(mode(&f), 0o640);
        assert_only(&m.path, &["f"]);
        // Read-only: identical content is "unchanged", exit 0.
        m.remount_ro();
        let out = run(&other);
        assert!(
            out.status.success(),
            "read-only: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"unchanged\n");
        fs::write(&same, &other).unwrap();
        let out = command(named, &f, &format!("cat {}", shell_quote(&same)));
        assert!(
            out.status.success(),
            "read-only, -- COMMAND: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"unchanged\n");
        let out = command(named, &f, &format!("cat {}; exit 3", shell_quote(&same)));
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        // A change there still fails as it must.
        let out = run(b"new");
        assert_eq!(out.status.code(), Some(1));
        let out = command(named, &f, "printf new");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(read(&f), other);
    }
}

/// `atomic-write --if-changed --print-changed PATH -- sh -c SCRIPT`.
fn command(named: bool, path: &Path, script: &str) -> std::process::Output {
    run(cli(named)
        .args(["--if-changed", "--print-changed"])
        .arg(path)
        .args(["--", "sh", "-c", script]))
}

//! `no_clobber`: an existing target is refused with `AlreadyExists` and left
//! untouched; of several writers racing to create one path exactly one wins,
//! and nothing is left behind.

use std::fs;
use std::io::{ErrorKind, Write};
use std::process::Stdio;

use crate::common::*;
use atomic_write::os_error;

both_paths! {
    /// An existing target: `AlreadyExists` from `create()`, untouched.
    fn existing_target_refused(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"precious").unwrap();
        chmod(&p, 0o600);
        let err = opts(named).no_clobber(true).create(&p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(os_error(&err), Some(libc::EEXIST));
        assert_eq!(
            err.to_string(),
            format!("refusing to replace {p:?}: File exists (os error 17)")
        );
        let err = opts(named).no_clobber(true).write_bytes(&p, b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(read(&p), b"precious");
        assert_eq!(mode(&p), 0o600);
        assert_only(d.path(), &["f"]);
    }

    /// A new path is created as usual.
    fn new_path_created(named: bool) {
        let d = scratch();
        let p = d.path().join("new");
        let mut f = opts(named).no_clobber(true).create(&p).unwrap();
        f.write_all(b"first").unwrap();
        assert_mid_write(d.path(), &[], b"new", named);
        f.commit().unwrap();
        assert_eq!(read(&p), b"first");
        assert_only(d.path(), &["new"]);
    }

    /// The target appears between `create()` and `commit()`: the commit fails
    /// with `AlreadyExists`, the other writer's file stays, no temp is left.
    fn target_appears_before_commit(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        let mut f = opts(named).no_clobber(true).create(&p).unwrap();
        f.write_all(b"late").unwrap();
        fs::write(&p, b"early bird").unwrap();
        let err = f.commit().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert!(err.to_string().contains(&format!("{p:?}")), "{err}");
        assert_eq!(read(&p), b"early bird");
        assert_only(d.path(), &["f"]);
    }

    /// Same race where the other writer leaves a symlink, even a dangling
    /// one: it is not replaced either.
    fn symlink_appears_before_commit(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        let f = opts(named).no_clobber(true).create(&p).unwrap();
        std::os::unix::fs::symlink("nowhere", &p).unwrap();
        let err = f.commit().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        assert_eq!(fs::read_link(&p).unwrap(), std::path::Path::new("nowhere"));
        assert_only(d.path(), &["f"]);
    }

    /// 8 CLI processes with `-n` racing on a new path: exactly one exits 0,
    /// the others exit 1 with "File exists"; the winner's content is whole;
    /// no temp is left. Several rounds.
    fn eight_processes_race(named: bool) {
        for round in 0..4 {
            let d = scratch();
            let p = d.path().join("race");
            let mut kids: Vec<ChildGuard> = (0..8)
                .map(|_| {
                    ChildGuard(Some(
                        cli(named)
                            .arg("-n")
                            .arg(&p)
                            .stdin(Stdio::piped())
                            .stdout(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .expect("spawn CLI"),
                    ))
                })
                .collect();
            // Let them all get past create() (they then wait on stdin), then
            // release them together.
            std::thread::sleep(std::time::Duration::from_millis(50));
            let mut stdins: Vec<_> = kids
                .iter_mut()
                .map(|k| k.child().stdin.take().unwrap())
                .collect();
            for (i, s) in stdins.iter_mut().enumerate() {
                s.write_all(format!("writer {i} ").repeat(1000).as_bytes())
                    .unwrap();
            }
            drop(stdins);
            let outs: Vec<_> = kids
                .iter_mut()
                .map(|k| k.take().wait_with_output().unwrap())
                .collect();
            let winners: Vec<usize> = (0..8).filter(|&i| outs[i].status.success()).collect();
            assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
            for (i, o) in outs.iter().enumerate() {
                if i == winners[0] {
                    continue;
                }
                let line = assert_io_failure(o, &p);
                assert!(line.contains("File exists"), "round {round}: {line}");
            }
            assert_eq!(
                read(&p),
                format!("writer {} ", winners[0]).repeat(1000).as_bytes()
            );
            assert_only(d.path(), &["race"]);
        }
    }

    /// 8 threads racing with the library: exactly one `Ok`, the rest `AlreadyExists`.
    fn eight_threads_race(named: bool) {
        let d = scratch();
        let p = d.path().join("race");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let results: Vec<_> = (0..8)
            .map(|i| {
                let (p, b) = (p.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let f = opts(named).no_clobber(true).create(&p);
                    b.wait(); // even on error, so no thread waits forever
                    let mut f = f?;
                    f.write_all(format!("thread {i}").as_bytes())?;
                    f.commit().map(|()| i)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let wins: Vec<usize> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(wins.len(), 1, "{results:?}");
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
            }
        }
        assert_eq!(read(&p), format!("thread {}", wins[0]).as_bytes());
        assert_only(d.path(), &["race"]);
    }
}

/// The link-based no-clobber fallback (the filesystem refuses
/// `RENAME_NOREPLACE`, here `EINVAL` injected with `strace`): when `link`
/// created the target but removing the temp name fails, the error says what
/// happened — created, the temp left behind, the directory synced — and the
/// directory *is* synced; it is not reported as "failed to create".
#[test]
#[ignore = "needs strace"]
fn link_fallback_created_but_temp_left() {
    require("strace");
    let d = scratch();
    let p = d.path().join("new");
    let log = d.path().with_extension("strace.log");
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&log)
        .args(["-e", "trace=renameat2,linkat,unlinkat,fsync"])
        .args(["-e", "inject=renameat2:error=EINVAL"])
        .args(["-e", "inject=unlinkat:error=EPERM"])
        .arg(bin())
        .arg("-n")
        .arg(&p)
        .env("ATOMIC_WRITE_NO_TMPFILE", "1");
    let out = cli_input(&mut cmd, b"made");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let trace = fs::read_to_string(&log).unwrap();
    let _ = fs::remove_file(&log);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(read(&p), b"made");
    assert!(
        stderr.contains(&format!("created {p:?}"))
            && stderr.contains("was left behind")
            && stderr.contains("(os error 1)")
            && stderr.contains("the directory was synced")
            && !stderr.contains("failed to create"),
        "{stderr}"
    );
    let lines: Vec<&str> = trace.lines().collect();
    let link = lines
        .iter()
        .position(|l| l.contains("linkat("))
        .expect(&trace);
    assert!(
        lines[link..].iter().any(|l| l.contains("fsync(")),
        "the directory was not synced after the link:\n{trace}"
    );
    assert_eq!(temps(d.path()).len(), 1, "the temp is the one reported");
}

/// A filesystem with neither `RENAME_NOREPLACE` nor hard links (here both
/// refusals injected with `strace`: `renameat2` `EINVAL`, `linkat` `EPERM`):
/// the error says no-clobber is not supported there, keeps `EPERM`, and
/// nothing is created or left behind.
#[test]
#[ignore = "needs strace"]
fn no_rename_noreplace_no_hard_links() {
    require("strace");
    let d = scratch();
    let p = d.path().join("new");
    let log = scratch();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(log.path().join("trace"))
        .args(["-e", "trace=renameat2,linkat"])
        .args(["-e", "inject=renameat2:error=EINVAL"])
        .args(["-e", "inject=linkat:error=EPERM"])
        .arg(bin())
        .arg("-n")
        .arg(&p)
        .env("ATOMIC_WRITE_NO_TMPFILE", "1");
    let out = cli_input(&mut cmd, b"x");
    let line = assert_io_failure(&out, &p);
    assert!(
        line.ends_with(&format!(
            "failed to create {p:?}: no-clobber is not supported on this filesystem \
             (it has neither RENAME_NOREPLACE nor hard links): Operation not permitted (os error 1)"
        )),
        "{line}"
    );
    assert_only(d.path(), &[]);
}

/// The same on a real one: a FUSE vfat (`fusefat`), where no-clobber used to
/// fail with a bare "Operation not permitted". The library keeps the errno.
/// Full suite (root, FUSE).
#[test]
#[ignore = "full suite: root, fusefat, mkfs.vfat"]
fn fuse_vfat_no_clobber_unsupported() {
    require_root();
    require("fusefat");
    require("mkfs.vfat");
    let d = scratch();
    let img = d.path().join("vfat.img");
    let mnt = d.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "truncate -s 8M {0} && mkfs.vfat {0} >/dev/null",
        shell_quote(&img)
    ));
    sh(&format!(
        "fusefat -o rw+ {} {}",
        shell_quote(&img),
        shell_quote(&mnt)
    ));
    let _unmount = scopeguard::guard(mnt.clone(), |m| unmount(&m));
    let p = mnt.join("new");
    // A plain write works there; only no-clobber can't be honoured.
    let out = cli_input(
        std::process::Command::new(bin()).arg(mnt.join("plain")),
        b"ok",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli_input(std::process::Command::new(bin()).arg("-n").arg(&p), b"x");
    let line = assert_io_failure(&out, &p);
    assert!(
        line.contains("no-clobber is not supported on this filesystem"),
        "{line}"
    );
    assert!(line.ends_with("(os error 1)"), "{line}");
    let err = atomic_write::Options::new()
        .no_clobber(true)
        .write_bytes(&p, b"x")
        .unwrap_err();
    assert_eq!(os_error(&err), Some(libc::EPERM), "{err}");
    assert!(
        err.to_string().contains("not supported on this filesystem"),
        "{err}"
    );
    // libfuse renames a file unlinked while still open to `.fuse_hidden*`
    // until the kernel's (asynchronous) release of its last descriptor
    // arrives: wait for that, then nothing but `plain` may be there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let left = loop {
        let mut left = names(&mnt);
        left.sort();
        let hidden = left.iter().any(|n| n.starts_with(".fuse_hidden"));
        if !hidden || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(left, ["plain"], "something was left behind");
}

/// `--backup` on a FUSE vfat (`fusefat`): no hard links there, so the backup
/// is a copy, and `fusefat` answers `fchown` (and `fchmod`) with `ENOSYS`;
/// that is skipped, as the main write skips it and as `cp --backup` works
/// there (on main every `--backup` failed with "Function not implemented").
/// Full suite (root, FUSE). Issue 15, item 3.
#[test]
#[ignore = "full suite: root, fusefat, mkfs.vfat"]
fn fuse_vfat_backup() {
    require_root();
    require("fusefat");
    require("mkfs.vfat");
    let d = scratch();
    let img = d.path().join("vfat.img");
    let mnt = d.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "truncate -s 8M {0} && mkfs.vfat {0} >/dev/null",
        shell_quote(&img)
    ));
    sh(&format!(
        "fusefat -o rw+ {} {}",
        shell_quote(&img),
        shell_quote(&mnt)
    ));
    let _unmount = scopeguard::guard(mnt.clone(), |m| unmount(&m));
    let p = mnt.join("t");
    fs::write(&p, b"v1").unwrap();
    for (i, named) in [(2, false), (3, true)] {
        let out = cli_input(
            cli(named).arg("--backup=simple").arg(&p),
            format!("v{i}").as_bytes(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::read(&p).unwrap(), format!("v{i}").as_bytes());
        assert_eq!(
            fs::read(mnt.join("t~")).unwrap(),
            format!("v{}", i - 1).as_bytes()
        );
    }
    atomic_write::Options::new()
        .backup("~")
        .write_bytes(&p, b"v4")
        .unwrap();
    assert_eq!(fs::read(mnt.join("t~")).unwrap(), b"v3");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let left = loop {
        let mut left = names(&mnt);
        left.sort();
        let hidden = left.iter().any(|n| n.starts_with(".fuse_hidden"));
        if !hidden || std::time::Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(left, ["t", "t~"], "something was left behind");
}

//! Backups the coreutils way (issue 19 item 3): simple, numbered
//! (`PATH.~N~`) and existing, in the library (`Options::backup_kind`) and the
//! CLI (`-b`, `--backup[=CONTROL]`, `-S`, `VERSION_CONTROL`,
//! `SIMPLE_BACKUP_SUFFIX`), each checked side by side with `cp --backup` on
//! the same starting directory: the same names with the same contents. And
//! concurrent writers of numbered backups: every version kept, none twice.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use atomic_write::{Backup, Options};

use crate::common::*;

/// The starting directories: besides `f` ("v0"), these entries (a trailing
/// `/`: a directory), each holding its own name.
const STARTS: &[&[&str]] = &[
    &[],
    &["f~", "f.bak"],
    &["f.~1~"],
    &["f.~1~", "f.~5~"],
    // Not numbered backups of `f`, as coreutils reads them.
    &[
        "f.~01~", "f.~0~", "f.~3a~", "f.~4~~", "f.~7~.x", "g.~8~", "ff.~9~",
    ],
    &["f.~9~/"],
    &["f.~99999999999999999999~"],
];

/// Two copies of one starting directory, `cp/` and `aw/`, and the new
/// content's source file beside them.
struct Twin {
    _d: tempfile::TempDir,
    cp: PathBuf,
    aw: PathBuf,
    src: PathBuf,
}

impl Twin {
    fn new(extra: &[&str]) -> Twin {
        let d = scratch();
        let (cp, aw, src) = (
            d.path().join("cp"),
            d.path().join("aw"),
            d.path().join("src"),
        );
        for dir in [&cp, &aw] {
            fs::create_dir(dir).unwrap();
            fs::write(dir.join("f"), "v0").unwrap();
            for e in extra {
                match e.strip_suffix('/') {
                    Some(sub) => fs::create_dir(dir.join(sub)).unwrap(),
                    None => fs::write(dir.join(e), e).unwrap(),
                }
            }
        }
        Twin { _d: d, cp, aw, src }
    }

    /// `cp ARGS src cp/f` with `content` in `src`, under `env` only (of the
    /// two variables).
    fn cp(&self, args: &[&str], env: &[(&str, &str)], content: &str) -> Output {
        fs::write(&self.src, content).unwrap();
        let mut c = Command::new("cp");
        clean_env(&mut c, env);
        run(c.args(args).arg(&self.src).arg(self.cp.join("f")))
    }

    /// `atomic-write ARGS aw/f` with `content` as input, under `env` only.
    fn aw(&self, args: &[&str], env: &[(&str, &str)], content: &str) -> Output {
        let mut c = Command::new(bin());
        clean_env(&mut c, env);
        cli_input(c.args(args).arg(self.aw.join("f")), content.as_bytes())
    }

    /// Runs `cp` and `atomic-write` with `args` and `env`, `runs` times;
    /// asserts they agree on success and leave the same entries.
    #[track_caller]
    fn agree(&self, args: &[&str], env: &[(&str, &str)], runs: usize, what: &str) {
        for run in 1..=runs {
            let v = format!("v{run}");
            let (cp, aw) = (self.cp(args, env, &v), self.aw(args, env, &v));
            let what = format!("{args:?} {env:?} {what}, run {run}");
            assert_eq!(
                aw.status.success(),
                cp.status.success(),
                "{what}: cp {cp:?}, atomic-write {aw:?}"
            );
            if !cp.status.success() {
                // A usage error: 2 here, cp's 1.
                assert_eq!(aw.status.code(), Some(2), "{what}: {aw:?}");
            }
            let (cp, aw) = self.states();
            assert_eq!(aw, cp, "{what}");
        }
    }

    /// The directories' entries and contents, `(cp's, ours)`.
    fn states(&self) -> (State, State) {
        (state(&self.cp), state(&self.aw))
    }
}

/// `cmd` with `VERSION_CONTROL` and `SIMPLE_BACKUP_SUFFIX` as in `env` only.
fn clean_env(cmd: &mut Command, env: &[(&str, &str)]) {
    cmd.env_remove("VERSION_CONTROL")
        .env_remove("SIMPLE_BACKUP_SUFFIX");
    for (k, v) in env {
        cmd.env(k, v);
    }
}

/// A directory's entries and their contents.
type State = Vec<(String, String)>;

/// Each entry of `dir` and its content (`<dir>` for a directory), sorted.
fn state(dir: &Path) -> State {
    names(dir)
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            let c = if p.is_dir() {
                "<dir>".to_string()
            } else {
                String::from_utf8_lossy(&read(&p)).into_owned()
            };
            (n, c)
        })
        .collect()
}

/// The library's kinds next to `cp --backup=CONTROL` (and `-S`): the same
/// names and contents from every starting directory, over three runs
/// (`.~1~`, `.~2~`, …; after `.~1~` and `.~5~` comes `.~6~`).
#[test]
fn library_kinds_as_cp_makes_them() {
    require("cp");
    let kinds: &[(&[&str], Backup)] = &[
        (&["--backup=simple"], Backup::simple("~")),
        (&["--backup=simple", "-S", ".orig"], Backup::simple(".orig")),
        (&["--backup=numbered"], Backup::Numbered),
        (&["--backup=existing"], Backup::existing("~")),
        (
            &["--backup=existing", "-S", ".orig"],
            Backup::existing(".orig"),
        ),
    ];
    for start in STARTS {
        for (args, kind) in kinds {
            let t = Twin::new(start);
            for run in 1..=3 {
                let v = format!("v{run}");
                let out = t.cp(args, &[], &v);
                assert!(out.status.success(), "cp {args:?}: {out:?}");
                Options::new()
                    .backup_kind(kind.clone())
                    .durability(atomic_write::Durability::None)
                    .write_text(t.aw.join("f"), &v)
                    .unwrap_or_else(|e| panic!("{kind:?} from {start:?}, run {run}: {e}"));
                let (cp, aw) = t.states();
                assert_eq!(aw, cp, "{kind:?} (cp {args:?}) from {start:?}, run {run}");
            }
        }
    }
}

/// `backup(suffix)` is `Backup::Simple(suffix)`; `backup_kind(None)` turns
/// a backup off again.
#[test]
fn backup_is_simple_and_none_is_none() {
    let d = scratch();
    let p = d.path().join("f");
    fs::write(&p, "v0").unwrap();
    fs::write(d.path().join("f.~1~"), "old").unwrap();
    Options::new().backup(".bak").write_text(&p, "v1").unwrap();
    Options::new()
        .backup("~")
        .backup_kind(None)
        .write_text(&p, "v2")
        .unwrap();
    assert_eq!(
        state(d.path()),
        [("f", "v2"), ("f.bak", "v0"), ("f.~1~", "old")].map(|(a, b)| (a.into(), b.into()))
    );
    assert_eq!(Backup::default(), Backup::existing("~"));
    for bad in ["", "a/b"] {
        for kind in [Backup::simple(bad), Backup::existing(bad)] {
            let err = Options::new().backup_kind(kind).create(&p).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}

/// Many writers of one target at once, each making numbered backups: every
/// version is kept under its own number (1 to the number of writes, none
/// twice, none lost, the target the last), and no hidden temp is left.
/// Threads of this process (each its own descriptors) and CLI processes.
#[test]
fn concurrent_numbered_backups_lose_nothing() {
    const WRITERS: usize = 6;
    const EACH: usize = 5;
    for cli in [false, true] {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, "v0").unwrap();
        std::thread::scope(|s| {
            for w in 0..WRITERS {
                let p = &p;
                s.spawn(move || {
                    for i in 0..EACH {
                        let v = format!("w{w}-{i}");
                        if cli {
                            let mut c = Command::new(bin());
                            c.args(["--backup=numbered", "--no-sync"]).arg(p);
                            let out = cli_input(&mut c, v.as_bytes());
                            assert!(out.status.success(), "{out:?}");
                        } else {
                            Options::new()
                                .backup_kind(Backup::Numbered)
                                .durability(atomic_write::Durability::None)
                                .write_text(p, &v)
                                .unwrap();
                        }
                    }
                });
            }
        });
        let n = WRITERS * EACH;
        let mut want: Vec<String> = vec!["f".into()];
        want.extend((1..=n).map(|i| format!("f.~{i}~")));
        want.sort();
        assert_eq!(names(d.path()), want, "cli: {cli}");
        let mut versions: Vec<String> = std::iter::once(p.clone())
            .chain((1..=n).map(|i| d.path().join(format!("f.~{i}~"))))
            .map(|f| String::from_utf8(read(&f)).unwrap())
            .collect();
        assert_eq!(versions[1], "v0", "the first backup is the first version");
        versions.sort();
        let mut all: Vec<String> = (0..WRITERS)
            .flat_map(|w| (0..EACH).map(move |i| format!("w{w}-{i}")))
            .chain(["v0".into()])
            .collect();
        all.sort();
        assert_eq!(versions, all, "cli: {cli}: a version lost or kept twice");
    }
}

/// The CLI's options next to `cp`'s, from several starting directories,
/// twice each: `-b`, `--backup` with every control word and some
/// abbreviations, `-S`/`--suffix` (which asks for a backup; an empty suffix
/// or one with `/` is `~`), `--backup=none` winning over `-S`.
#[test]
fn cli_options_as_cp_takes_them() {
    require("cp");
    let args: &[&[&str]] = &[
        &["-b"],
        &["--backup"],
        &["--backup="],
        &["--backup=numbered"],
        &["--backup=t"],
        &["--backup=num"],
        &["--backup=existing"],
        &["--backup=nil"],
        &["--backup=e"],
        &["--backup=simple"],
        &["--backup=never"],
        &["--backup=s"],
        &["--backup=none"],
        &["--backup=off"],
        &["--backup=no"],
        &["-S", ".bak"],
        &["--suffix=.bak"],
        &["-S", ""],
        &["-S", "a/b"],
        &["-S", "/x"],
        &["-b", "-S", ".x"],
        &["--backup=none", "-S", ".x"],
        &["--backup=numbered", "-S", ".x"],
        &["--backup=existing", "-b"],
        // Not a control word, or an ambiguous one: a usage error (exit 2
        // here, 1 for cp), nothing written.
        &["--backup=foo"],
        &["--backup=.bak"],
        &["--backup=n"],
    ];
    for start in [STARTS[0], STARTS[3]] {
        for a in args {
            Twin::new(start).agree(a, &[], 2, &format!("from {start:?}"));
        }
    }
}

/// `VERSION_CONTROL` (the kind when `--backup` has no CONTROL, also with
/// `-b` and `-S`; empty: existing; invalid: a usage error, but only when a
/// backup is asked for) and `SIMPLE_BACKUP_SUFFIX` (the suffix without
/// `-S`; empty or with `/`: `~`), in every combination, next to `cp`.
#[test]
fn cli_environment_as_cp_reads_it() {
    require("cp");
    // Every VERSION_CONTROL with SIMPLE_BACKUP_SUFFIX unset; every
    // SIMPLE_BACKUP_SUFFIX with the kinds that may use a suffix.
    let controls = [
        None,
        Some(""),
        Some("numbered"),
        Some("t"),
        Some("num"),
        Some("existing"),
        Some("never"),
        Some("none"),
        Some("off"),
        Some("foo"),
        Some("n"),
    ];
    let mut envs: Vec<Vec<(&str, &str)>> = controls
        .iter()
        .map(|vc| vc.map(|v| ("VERSION_CONTROL", v)).into_iter().collect())
        .collect();
    for vc in [None, Some("never"), Some("existing")] {
        for sbs in [".orig", "", "a/b"] {
            let mut env: Vec<(&str, &str)> =
                vc.map(|v| ("VERSION_CONTROL", v)).into_iter().collect();
            env.push(("SIMPLE_BACKUP_SUFFIX", sbs));
            envs.push(env);
        }
    }
    let args: &[&[&str]] = &[&[], &["-b"], &["--backup"], &["-S", ".x"], &["-S", ""]];
    for env in &envs {
        for a in args {
            for start in [STARTS[0], STARTS[2]] {
                Twin::new(start).agree(a, env, 1, &format!("from {start:?}"));
            }
        }
    }
}

/// Locks `path` exclusively (`flock`), as another writer that makes backups
/// (or an appender) holds it; released when the returned file is dropped.
fn lock_exclusively(path: &Path) -> fs::File {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(path).unwrap();
    // SAFETY: `f` is an open descriptor; flock takes no pointer.
    #[allow(unsafe_code)]
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(r, 0, "flock {}", path.display());
    f
}

/// A writer making a backup waits for another's lock on the target (the
/// turn that keeps each backup the version its write replaces): it
/// proceeds once the lock is released, and past `lock_timeout` fails with
/// `WouldBlock`, the target untouched, no backup made, no temp left.
#[test]
fn a_backup_waits_its_turn() {
    let d = scratch();
    let p = d.path().join("f");
    fs::write(&p, "v0").unwrap();
    let held = lock_exclusively(&p);
    let err = Options::new()
        .backup_kind(Backup::Numbered)
        .lock_timeout(std::time::Duration::from_millis(200))
        .write_text(&p, "v1")
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock, "{err}");
    assert!(err.to_string().contains("cannot back up"), "{err}");
    assert_only(d.path(), &["f"]);
    assert_eq!(read(&p), b"v0");
    let start = std::time::Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    Options::new()
        .backup_kind(Backup::Numbered)
        .write_text(&p, "v1")
        .unwrap();
    release.join().unwrap();
    assert!(start.elapsed() >= std::time::Duration::from_millis(250));
    assert_eq!(
        state(d.path()),
        [("f", "v1"), ("f.~1~", "v0")].map(|(a, b)| (a.into(), b.into()))
    );
}

//! Concurrency: many writer processes and validating reader processes on one
//! path for a bounded time; writers on different targets in one directory;
//! racing `--no-clobber` writers. Writers are `atomic-write` processes, half
//! of them on the named-temp path; readers are separate processes that
//! validate every read (see `common::writers::READER_PY`).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::versions::{decode, encode};
use crate::common::writers::{self, ReaderReport, Readers, Writer};

/// How long the timed tests run.
fn duration() -> Duration {
    if common::full_suite() {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(1)
    }
}

/// One write of `version` (body `size`) to `target` by a CLI process.
fn write(
    writer: Writer,
    target: &Path,
    input_dir: &Path,
    version: u64,
    size: usize,
    extra: &[&str],
) -> std::process::Output {
    let input = input_dir.join(format!("in-{version}"));
    std::fs::write(&input, encode(version, size)).unwrap();
    let (argv, env) = writer.argv(target);
    let out = Command::new(&argv[0])
        .args(extra)
        .args(&argv[1..])
        .envs(env)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .expect("writer");
    let _ = std::fs::remove_file(&input);
    out
}

const WRITER_SIZES: [usize; 5] = [0, 1, 4096, 9000, 256 << 10];

fn temps(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    common::names(dir)
        .into_iter()
        .filter(|n| !keep(n))
        .collect()
}

/// What a concurrency run found.
#[derive(Debug, Default)]
struct Outcome {
    commits: u64,
    readers: ReaderReport,
    violations: Vec<String>,
}

/// `writers` loop writing one path until `until`, while 4 readers validate it.
fn one_path(writers: &[Writer], until: Duration) -> Outcome {
    let tmp = common::scratch();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let target = dir.join("t");
    std::fs::write(&target, encode(0, 100)).unwrap();
    let readers = Readers::start(4, tmp.path().join("stop"), std::slice::from_ref(&target));
    let commits = AtomicU64::new(0);
    let deadline = Instant::now() + until;
    let mut violations: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, &writer)| {
                let (target, tmp, commits) = (&target, tmp.path(), &commits);
                s.spawn(move || {
                    let mut i = 0;
                    while Instant::now() < deadline {
                        i += 1;
                        let v = (w as u64 + 1) * 1_000_000 + i;
                        let out =
                            write(writer, target, tmp, v, WRITER_SIZES[(i as usize) % 5], &[]);
                        if !out.status.success() {
                            return Some(format!(
                                "{} failed: {}",
                                writer.name(),
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        }
                        commits.fetch_add(1, Ordering::Relaxed);
                    }
                    None
                })
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().unwrap()).collect()
    });
    let r = readers.finish();
    if r.violations() > 0 {
        violations.push(format!(
            "readers saw {} invalid, {} missing of {} reads; first: {}",
            r.bad, r.missing, r.reads, r.first
        ));
    }
    if let Err(e) = decode(&common::read(&target)) {
        violations.push(format!("final content: {e}"));
    }
    let left = temps(&dir, |n| n == "t");
    if !left.is_empty() {
        violations.push(format!("temps left: {left:?}"));
    }
    Outcome {
        commits: commits.into_inner(),
        readers: r,
        violations,
    }
}

#[test]
#[ignore = "needs python3"]
fn eight_writers_four_readers_one_path() {
    common::require("python3");
    let ws: Vec<Writer> = (0..8)
        .map(|w| {
            if w % 2 == 0 {
                Writer::Cli
            } else {
                Writer::CliNamed
            }
        })
        .collect();
    let o = one_path(&ws, duration());
    eprintln!(
        "FIGURE concurrency: 8 writers x 4 readers on one path for {:?}: {} commits, {} validated reads, {} invalid",
        duration(),
        o.commits,
        o.readers.reads,
        o.readers.violations()
    );
    assert!(o.violations.is_empty(), "{:#?}", o.violations);
    assert!(o.readers.reads > 0 && o.commits > 0);
}

/// The same harness passes the correct Python writer and flags truncate-in-place.
#[test]
#[ignore = "full suite: python3"]
fn one_path_harness_flags_truncate_in_place() {
    common::require("python3");
    let good = one_path(&[writers::GOOD; 4], Duration::from_secs(3));
    assert!(
        good.violations.is_empty(),
        "the correct writer was flagged: {:#?}",
        good.violations
    );
    let bad = one_path(&[writers::TRUNCATE_IN_PLACE; 4], Duration::from_secs(3));
    eprintln!(
        "python:truncate: {} commits, flagged: {:?}",
        bad.commits,
        bad.violations.first()
    );
    assert!(
        !bad.violations.is_empty(),
        "truncate-in-place was not flagged"
    );
}

#[test]
#[ignore = "needs python3"]
fn writers_on_different_targets_in_one_directory() {
    common::require("python3");
    let tmp = common::scratch();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let targets: Vec<PathBuf> = (0..8).map(|i| dir.join(format!("t{i}"))).collect();
    for t in &targets {
        std::fs::write(t, encode(0, 10)).unwrap();
    }
    let readers = Readers::start(4, tmp.path().join("stop"), &targets);
    let deadline = Instant::now() + duration();
    let last: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(w, target)| {
                let tmp = tmp.path();
                s.spawn(move || {
                    let writer = if w % 2 == 0 {
                        Writer::Cli
                    } else {
                        Writer::CliNamed
                    };
                    let mut i = 0u64;
                    let mut last = 0;
                    while Instant::now() < deadline {
                        i += 1;
                        let v = (w as u64 + 1) * 1_000_000 + i;
                        let out =
                            write(writer, target, tmp, v, WRITER_SIZES[(i as usize) % 5], &[]);
                        assert!(
                            out.status.success(),
                            "{}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        last = v;
                    }
                    last
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let r = readers.finish();
    eprintln!(
        "8 writers on 8 targets in one directory: {} validated reads, {} invalid",
        r.reads,
        r.violations()
    );
    assert_eq!(r.violations(), 0, "{}", r.first);
    for (t, want) in targets.iter().zip(last) {
        // Each target holds its own writer's last version: no lost or crossed update.
        assert_eq!(decode(&common::read(t)), Ok(want), "{}", t.display());
    }
    assert_eq!(
        temps(&dir, |n| n.starts_with('t')),
        Vec::<String>::new(),
        "temps left"
    );
}

/// Rounds of 8 processes racing to create one new path with no-clobber
/// semantics: exactly one succeeds, the others report EEXIST, the content is
/// the winner's, nothing is left behind. Returns violations and the winners'
/// writer kinds.
fn race_no_clobber(
    pick: impl Fn(u64) -> Writer + Sync,
    rounds: u64,
    stop_when_flagged: bool,
) -> (Vec<String>, Vec<Writer>) {
    let tmp = common::scratch();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    let mut violations = Vec::new();
    let mut winners_kind = Vec::new();
    for round in 0..rounds {
        let target = dir.join(format!("t{round}"));
        let go = AtomicBool::new(false);
        let outs: Vec<(u64, Writer, std::process::Output)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8u64)
                .map(|w| {
                    let (target, tmp, go, pick) = (&target, tmp.path(), &go, &pick);
                    s.spawn(move || {
                        let writer = pick(w);
                        let v = round * 100 + w;
                        while !go.load(Ordering::Acquire) {
                            std::hint::spin_loop();
                        }
                        let extra: &[&str] = if writer.is_cli() {
                            &["--no-clobber"]
                        } else {
                            &[]
                        };
                        (v, writer, write(writer, target, tmp, v, 4096, extra))
                    })
                })
                .collect();
            go.store(true, Ordering::Release);
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<_> = outs.iter().filter(|(_, _, o)| o.status.success()).collect();
        if winners.len() != 1 {
            violations.push(format!(
                "round {round}: {} writers succeeded",
                winners.len()
            ));
        }
        for (_, w, o) in outs.iter().filter(|(_, _, o)| !o.status.success()) {
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.code() != Some(1) || !err.contains("(os error 17)") {
                violations.push(format!(
                    "round {round}: {} lost without reporting EEXIST: {err}",
                    w.name()
                ));
            }
        }
        match decode(&common::read(&target)) {
            Ok(v) if winners.iter().any(|(wv, _, _)| *wv == v) => {}
            other => violations.push(format!(
                "round {round}: content {other:?} is not a winner's"
            )),
        }
        winners_kind.extend(winners.iter().map(|(_, w, _)| *w));
        if stop_when_flagged && !violations.is_empty() {
            break;
        }
    }
    let left = temps(&dir, |n| n.starts_with('t'));
    if !left.is_empty() {
        violations.push(format!("temps left: {left:?}"));
    }
    (violations, winners_kind)
}

#[test]
fn racing_no_clobber_exactly_one_wins() {
    let rounds = if common::full_suite() { 100 } else { 10 };
    let (violations, winners) = race_no_clobber(
        |w| {
            if w % 2 == 0 {
                Writer::Cli
            } else {
                Writer::CliNamed
            }
        },
        rounds,
        false,
    );
    let named = winners.iter().filter(|w| **w == Writer::CliNamed).count();
    eprintln!("racing --no-clobber: {rounds} rounds of 8 writers, one winner each ({named} on the named-temp path)");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// The race harness passes a correct (link-based) Python writer and flags the
/// check-then-rename one.
#[test]
#[ignore = "full suite: python3"]
fn race_harness_flags_check_then_rename() {
    common::require("python3");
    let (good, _) = race_no_clobber(|_| writers::GOOD_NO_CLOBBER, 20, false);
    assert!(good.is_empty(), "the correct writer was flagged: {good:#?}");
    let (bad, _) = race_no_clobber(|_| writers::RACY_NO_CLOBBER, 50, true);
    eprintln!("python:racynoclobber flagged: {:?}", bad.first());
    assert!(!bad.is_empty(), "check-then-rename was not flagged");
}

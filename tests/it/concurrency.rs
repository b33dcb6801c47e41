//! Concurrency: several writers (processes through the CLI, or threads through
//! the library) replace one path while readers read it in a loop. Every read
//! must be one whole version; at the end one writer's whole content is there
//! and no temp is left.
//!
//! Versions validate themselves: a header `AWV <writer> <seq> <len>\n` then
//! `len` copies of a byte derived from writer and seq, with lengths varying
//! from a few bytes to ~300 KiB, so a mix, a truncation or an empty file shows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use crate::common::*;

const WRITERS: usize = 4;
const READERS: usize = 2;

fn version(writer: usize, seq: usize) -> Vec<u8> {
    let len = 1 + (writer * 100_003 + seq * 7_919) % 300_000;
    let byte = (1 + (writer * 31 + seq * 7) % 251) as u8;
    let mut v = format!("AWV {writer} {seq} {len}\n").into_bytes();
    v.resize(v.len() + len, byte);
    v
}

/// `(writer, seq)` if `data` is exactly one whole version.
fn check(data: &[u8]) -> Result<(usize, usize), String> {
    let nl = data
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| format!("no header in {} bytes", data.len()))?;
    let head = std::str::from_utf8(&data[..nl]).map_err(|e| e.to_string())?;
    let f: Vec<&str> = head.split(' ').collect();
    if f.len() != 4 || f[0] != "AWV" {
        return Err(format!("bad header {head:?}"));
    }
    let (w, s): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
    if version(w, s) != data {
        return Err(format!(
            "read {} bytes that are not version {w}/{s} ({} bytes)",
            data.len(),
            version(w, s).len()
        ));
    }
    Ok((w, s))
}

/// Runs readers on `path` while `write_all` runs; returns the versions seen.
fn with_readers(path: &Path, write_all: impl FnOnce()) -> HashSet<(usize, usize)> {
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (p, stop, reads) = (path.to_path_buf(), stop.clone(), reads.clone());
            thread::spawn(move || {
                let mut seen = HashSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let data = std::fs::read(&p).expect("the path always exists");
                    match check(&data) {
                        Ok(v) => seen.insert(v),
                        Err(e) => panic!("a reader saw a broken version: {e}"),
                    };
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();
    // Stop the readers even if a writer panics.
    let guard = scopeguard::guard(stop.clone(), |s| s.store(true, Ordering::Relaxed));
    write_all();
    drop(guard);
    let mut seen = HashSet::new();
    for r in readers {
        seen.extend(r.join().expect("reader panicked"));
    }
    assert!(reads.load(Ordering::Relaxed) > 0, "readers never read");
    seen
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let d = scratch();
    let p = d.path().join("shared");
    std::fs::write(&p, version(99, 0)).unwrap();
    (d, p)
}

fn final_check(d: &Path, p: &Path, seen: &HashSet<(usize, usize)>) {
    let (w, s) = check(&read(p)).expect("final content is one whole version");
    assert!(w < WRITERS, "final content is the initial version");
    assert!(s > 0 || seen.len() > 1);
    assert!(
        seen.len() >= 2,
        "readers saw only {seen:?}: no concurrency tested"
    );
    assert_only(d, &["shared"]);
}

both_paths! {
    /// 4 CLI writer processes (each runs one after another, all four at once)
    /// × 2 reader threads.
    fn cli_processes(named: bool) {
        let per_writer = 25;
        let (d, p) = setup();
        let seen = with_readers(&p, || {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let p = p.clone();
                    thread::spawn(move || {
                        for s in 1..=per_writer {
                            let out = cli_input(cli(named).arg("--no-sync").arg(&p), &version(w, s));
                            assert!(
                                out.status.success(),
                                "writer {w}/{s}: {}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                        }
                    })
                })
                .collect();
            for t in writers {
                t.join().expect("writer thread");
            }
        });
        final_check(d.path(), &p, &seen);
    }

    /// The same with full durability (fsync), fewer rounds.
    fn cli_processes_synced(named: bool) {
        let per_writer = 6;
        let (d, p) = setup();
        let seen = with_readers(&p, || {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let p = p.clone();
                    thread::spawn(move || {
                        for s in 1..=per_writer {
                            let out = cli_input(cli(named).arg(&p), &version(w, s));
                            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                        }
                    })
                })
                .collect();
            for t in writers {
                t.join().expect("writer thread");
            }
        });
        final_check(d.path(), &p, &seen);
    }

    /// 4 writer threads with the library × 2 reader threads.
    fn library_threads(named: bool) {
        let per_writer = 60;
        let (d, p) = setup();
        let seen = with_readers(&p, || {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let p = p.clone();
                    thread::spawn(move || {
                        for s in 1..=per_writer {
                            opts(named)
                                .durability(atomic_write::Durability::None)
                                .write_bytes(&p, &version(w, s))
                                .unwrap();
                        }
                    })
                })
                .collect();
            for t in writers {
                t.join().expect("writer thread");
            }
        });
        final_check(d.path(), &p, &seen);
    }
}

/// The checker itself catches what the suite looks for: a truncated version,
/// an empty file, two versions mixed.
#[test]
fn checker_catches_broken_versions() {
    let v = version(1, 2);
    assert_eq!(check(&v), Ok((1, 2)));
    assert!(check(&v[..v.len() - 1]).is_err());
    assert!(check(b"").is_err());
    let other = version(2, 3);
    let mut mixed = v[..v.len() / 2].to_vec();
    mixed.extend_from_slice(&other[other.len() / 2..]);
    assert!(check(&mixed).is_err());
}

/// The reader harness catches a non-atomic writer: `std::fs::write`
/// (truncate, then write in place) is seen half-done by a reader.
#[test]
fn harness_catches_truncating_writer() {
    let (_d, p) = setup();
    let caught = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (p, caught, stop) = (p.clone(), caught.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if check(&std::fs::read(&p).unwrap()).is_err() {
                    caught.store(true, Ordering::Relaxed);
                    return;
                }
            }
        })
    };
    for s in 1..=50_000 {
        if caught.load(Ordering::Relaxed) {
            break;
        }
        std::fs::write(&p, version(0, s)).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert!(
        caught.load(Ordering::Relaxed),
        "the readers never noticed a truncate-and-write writer"
    );
}

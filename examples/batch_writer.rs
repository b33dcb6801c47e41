//! A small writer built on [`AtomicFile`] and [`commit_all`], for the kill and
//! fault-injection harnesses (`tests/crash_kill.rs`, `tests/fault_inject.rs`):
//! the library's batch path driven like the CLI.
//!
//! ```text
//! batch_writer [--scheme auto|syncfs|write-then-fsync|fsync-each] PATH < data
//! ```
//!
//! Replaces PATH with standard input and, in the same `commit_all`, a
//! companion file `companion/c` beside PATH's directory (same filesystem, so
//! the batch has two files there and takes its `syncfs` path where trusted).
//! PATH is first in the batch, so its rename is the batch's first. Exit 0 on
//! success, else 1 with one line on stderr ending in `(os error N)`.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use atomic_write::{commit_all, commit_all_with, AtomicFile, BatchSync};

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut scheme = BatchSync::Auto;
    if args.first().is_some_and(|a| a == "--scheme") && args.len() >= 2 {
        scheme = match args[1].to_str() {
            Some("auto") => BatchSync::Auto,
            Some("syncfs") => BatchSync::Syncfs,
            Some("write-then-fsync") => BatchSync::WriteThenFsync,
            Some("fsync-each") => BatchSync::FsyncEach,
            _ => return usage(),
        };
        args.drain(..2);
    }
    let [path] = &args[..] else {
        return usage();
    };
    match run(PathBuf::from(path), scheme) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("batch_writer: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: batch_writer [--scheme auto|syncfs|write-then-fsync|fsync-each] PATH < data");
    ExitCode::from(2)
}

fn run(path: PathBuf, scheme: BatchSync) -> io::Result<()> {
    let mut data = Vec::new();
    io::stdin().lock().read_to_end(&mut data)?;
    let parent = path.parent().unwrap_or(std::path::Path::new("."));
    let companion_dir = parent
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("companion");
    std::fs::create_dir_all(&companion_dir)?;
    let mut first = AtomicFile::create(&path)?;
    first.write_all(&data)?;
    let mut second = AtomicFile::create(companion_dir.join("c"))?;
    second.write_all(&data)?;
    if scheme == BatchSync::Auto {
        commit_all([first, second])
    } else {
        commit_all_with([first, second], scheme)
    }
}

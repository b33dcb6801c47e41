//! The library's own tests of its public behaviour that hold on every
//! platform: run by `cargo test` on Linux and, built for
//! `x86_64-pc-windows-gnu`, under Wine (the integration tests drive the Unix
//! CLI and are not built there). Windows-only cases are in `sys::windows`.
//! One concern per module; here the helpers they share.

mod backup;
mod batch;
mod changed;
mod commit;
mod concurrency;
mod errors;
mod file_io;
mod no_clobber;
mod parents;
mod sweep;
mod temp_names;
mod validate;
mod write;

use std::fs;
use std::path::Path;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn no_temp(dir: &Path) {
    let left: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| crate::sys::is_temp_name(n.as_ref()))
        .collect();
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

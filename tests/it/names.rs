//! File names: non-UTF-8 bytes, spaces and newlines, a leading dash, and the
//! longest name a filesystem allows (255 bytes), whose temp must stay within
//! `NAME_MAX`. Through the library and the CLI.

use crate::common;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;

const WEIRD: &[&[u8]] = &[
    b"caf\xe9\xff\xfe",          // not UTF-8
    b"with spaces .txt",         // spaces, trailing dot
    b" leading and trailing ",   // spaces at both ends
    b"new\nline",                // newline
    b"-rf",                      // leading dash
    b"--help",                   // looks like an option
    b"\x01control\x7f",          // control bytes
    b"\xf0\x9f\xa6\x80 crab.rs", // UTF-8 emoji
    b".hidden",                  // already hidden
    b"..dots",
];

fn long_name(byte: u8, len: usize) -> Vec<u8> {
    vec![byte; len]
}

both_paths! {
    /// Every weird name round-trips, through the library.
    fn weird_names_library(named: bool) {
        let d = scratch();
        for &n in WEIRD {
            let p = d.path().join(OsStr::from_bytes(n));
            let others: Vec<Vec<u8>> = raw_names(d.path());
            let others: Vec<&[u8]> = others.iter().map(|v| &v[..]).collect();
            let mut f = opts(named).create(&p).unwrap();
            f.write_all(n).unwrap();
            assert_mid_write(d.path(), &others, n, named);
            f.commit().unwrap();
            assert_eq!(read(&p), n, "name {:?}", String::from_utf8_lossy(n));
            // And a replace of the existing file.
            opts(named).write_bytes(&p, b"again").unwrap();
            assert_eq!(read(&p), b"again");
        }
        let mut want: Vec<Vec<u8>> = WEIRD.iter().map(|n| n.to_vec()).collect();
        want.sort();
        assert_eq!(raw_names(d.path()), want, "extra entries left behind");
    }

    /// A 255-byte name (ASCII and multi-byte UTF-8, cut mid-character in the
    /// temp name): the temp's name stays within NAME_MAX, is hidden, and goes.
    fn name_max(named: bool) {
        let d = scratch();
        let multi: Vec<u8> = "é".repeat(127).into_bytes().into_iter().chain([b'x']).collect();
        assert_eq!(multi.len(), 255);
        for n in [long_name(b'a', 255), multi, long_name(0xff, 255)] {
            let p = d.path().join(OsStr::from_bytes(&n));
            std::fs::write(&p, b"old").unwrap();
            let mut f = opts(named).create(&p).unwrap();
            f.write_all(b"long").unwrap();
            if let Some(t) = assert_mid_write(d.path(), &[&n], &n, named) {
                assert!(t.len() <= 255);
                assert_eq!(t[0], b'.', "temp not hidden");
            }
            f.commit().unwrap();
            assert_eq!(read(&p), b"long");
            std::fs::remove_file(&p).unwrap();
            assert_only(d.path(), &[]);
        }
    }

    /// A 255-byte name of 3-byte characters: the temp's name, cut to fit
    /// NAME_MAX, is cut at a character boundary and stays valid UTF-8 (a
    /// strict-UTF-8 filesystem would refuse it otherwise).
    fn name_max_utf8_cut_at_char(named: bool) {
        let d = scratch();
        let n = "€".repeat(85);
        assert_eq!(n.len(), 255);
        let p = d.path().join(&n);
        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"x").unwrap();
        if let Some(t) = assert_mid_write(d.path(), &[], n.as_bytes(), named) {
            assert!(t.len() <= 255);
            let t = String::from_utf8(t).expect("temp name cut inside a character");
            assert!(t.starts_with(&format!(".{}", "€".repeat(73))), "{t}");
        }
        f.commit().unwrap();
        assert_eq!(read(&p), b"x");
        assert_only(d.path(), &[n.as_str()]);
    }

    /// A 256-byte name is refused by the filesystem; nothing is created.
    fn name_too_long(named: bool) {
        let d = scratch();
        let p = d.path().join(OsStr::from_bytes(&long_name(b'b', 256)));
        let err = opts(named).write_bytes(&p, b"x").unwrap_err();
        assert_eq!(atomic_write::os_error(&err), Some(libc::ENAMETOOLONG), "{err}");
        assert_only(d.path(), &[]);
    }

    /// The CLI takes any bytes as PATH; a leading-dash name is given as `./-name`.
    fn weird_names_cli(named: bool) {
        let d = scratch();
        for &n in WEIRD.iter().chain([&long_name(b'z', 255)[..]].iter()) {
            let rel = Path::new(".").join(OsStr::from_bytes(n));
            let out = cli_input(cli(named).current_dir(d.path()).arg(&rel), n);
            assert!(
                out.status.success(),
                "{:?}: {}",
                rel,
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(read(&d.path().join(OsStr::from_bytes(n))), n);
        }
        assert_eq!(raw_names(d.path()).len(), WEIRD.len() + 1, "extra entries left behind");
    }

    /// An error message names a non-UTF-8 path losslessly enough to find it
    /// (escaped, as `{:?}` shows paths); the CLI's line carries the path too.
    fn non_utf8_in_messages(named: bool) {
        let d = scratch();
        let p = d.path().join(OsStr::from_bytes(b"caf\xe9")).join("x");
        let err = opts(named).create(&p).unwrap_err();
        assert!(err.to_string().contains(r"caf\xE9"), "{err}");
        let out = cli_input(cli(named).arg(&p), b"x");
        let line = assert_io_failure(&out, &p);
        assert!(line.contains("failed to open directory"), "{line}");
    }
}

/// `--` starts the COMMAND, so `atomic-write -- -name` is a usage error that
/// writes nothing (exit 2); a bare `-name` is parsed as options, also exit 2.
#[test]
fn leading_dash_cli_usage() {
    let d = scratch();
    for args in [&["--", "-name"][..], &["-name"], &["-rf"]] {
        let out = cli_input(Command::new(bin()).current_dir(d.path()).args(args), b"x");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
        assert_only(d.path(), &[]);
    }
    // Through ./ it is a plain path.
    let out = cli_input(
        Command::new(bin()).current_dir(d.path()).arg("./-name"),
        b"dash",
    );
    assert!(out.status.success());
    assert_eq!(read(&d.path().join("-name")), b"dash");
}

/// Temp names' random part comes from the raw `getrandom` syscall: the CLI
/// (which links the whole library) imports no `getrandom@GLIBC_2.25`, so the
/// crate links on the glibc 2.17–2.24 systems Rust supports.
#[test]
#[ignore = "needs nm"]
fn no_versioned_getrandom_import() {
    common::require("nm");
    let out = common::run(
        std::process::Command::new("nm")
            .args(["-D", "--undefined-only"])
            .arg(common::bin()),
    );
    let syms = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = syms.lines().filter(|l| l.contains("getrandom")).collect();
    assert!(bad.is_empty(), "imports {bad:?}");
}

/// The random part of temp names is seeded from the OS, per process: two
/// processes' first named temps in one directory differ. (With a fixed seed
/// every process would draw the same sequence of names, which other users
/// could predict and pre-create.) Each CLI run lists its directory on stderr
/// from `-- COMMAND`, while its named temp exists.
#[test]
fn temp_names_differ_between_processes() {
    let d = scratch();
    let target = d.path().join("t");
    let temp_of = || {
        let out = run(cli(true)
            .arg(&target)
            .args(["--", "sh", "-c", "ls -a \"$0\" >&2"])
            .arg(d.path()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stderr).into_owned();
        listing
            .lines()
            .find(|l| l.contains(".atomic-write-"))
            .unwrap_or_else(|| panic!("no temp in {listing:?}"))
            .to_string()
    };
    let (a, b) = (temp_of(), temp_of());
    assert_ne!(a, b, "two processes drew the same temp name");
}

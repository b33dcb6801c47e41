//! Backups: the old content kept, the previous backup replaced, an invalid
//! suffix refused.

use std::fs;
use std::io;

use super::{names, tmp};
use crate::Options;

#[test]
fn backup_keeps_the_old_content() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "v1").unwrap();
    Options::new().backup("~").write_bytes(&p, b"v2").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"v2");
    assert_eq!(fs::read(d.path().join("f~")).unwrap(), b"v1");
    assert_eq!(names(d.path()), ["f", "f~"]);
}

#[test]
fn backup_replaces_the_previous_backup() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "v1").unwrap();
    let mut o = Options::new();
    o.backup(".bak");
    o.write_bytes(&p, b"v2").unwrap();
    o.write_bytes(&p, b"v3").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"v3");
    assert_eq!(fs::read(d.path().join("f.bak")).unwrap(), b"v2");
    assert_eq!(names(d.path()), ["f", "f.bak"]);
}

#[test]
fn backup_of_a_new_file_makes_none() {
    let d = tmp();
    let p = d.path().join("f");
    Options::new().backup("~").write_bytes(&p, b"v1").unwrap();
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn a_backup_suffix_with_a_separator_is_invalid() {
    let d = tmp();
    for s in ["", "/x", "a/b"] {
        let err = Options::new()
            .backup(s)
            .write_bytes(d.path().join("f"), b"x")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{s:?}: {err}");
    }
    assert!(names(d.path()).is_empty());
}

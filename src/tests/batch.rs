//! `commit_all`: several files committed together.

use std::fs;
use std::io::{self, Write};

use super::{names, no_temp, tmp};
use crate::{commit_all, AtomicFile, Options};

#[test]
fn commit_all_commits_every_file() {
    let d = tmp();
    let files: Vec<AtomicFile> = (0..5)
        .map(|i| {
            let mut f = AtomicFile::create(d.path().join(format!("f{i}"))).unwrap();
            write!(f, "content {i}").unwrap();
            f
        })
        .collect();
    commit_all(files).unwrap();
    for i in 0..5 {
        assert_eq!(
            fs::read_to_string(d.path().join(format!("f{i}"))).unwrap(),
            format!("content {i}")
        );
    }
    assert_eq!(names(d.path()).len(), 5);
}

#[test]
fn commit_all_of_nothing_is_ok() {
    commit_all(Vec::new()).unwrap();
}

#[test]
fn commit_all_with_a_clash_reports_it() {
    let d = tmp();
    fs::write(d.path().join("taken"), "old").unwrap();
    let mut a = AtomicFile::create(d.path().join("a")).unwrap();
    a.write_all(b"a").unwrap();
    let mut b = Options::new()
        .no_clobber(true)
        .create(d.path().join("b"))
        .unwrap();
    b.write_all(b"b").unwrap();
    fs::write(d.path().join("b"), "someone else's").unwrap();
    let err = commit_all(vec![a, b]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(d.path().join("b")).unwrap(), b"someone else's");
    assert_eq!(fs::read(d.path().join("taken")).unwrap(), b"old");
    no_temp(d.path());
}

//! `commit_if_changed`: the same content skipped, other content committed.

use std::fs;
use std::io::Write;
use std::time::Duration;

use super::{names, tmp};
use crate::AtomicFile;

#[test]
fn commit_if_changed_skips_the_same_content() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"same").unwrap();
    let before = fs::metadata(&p).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"same").unwrap();
    assert!(!f.commit_if_changed().unwrap());
    assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), before);
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn commit_if_changed_commits_other_content() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"old!").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"new!").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"new!");
}

#[test]
fn commit_if_changed_creates_a_missing_target() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"x").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"x");
}

#[test]
fn commit_if_changed_sees_a_longer_target() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"abcdef").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"abc").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"abc");
}

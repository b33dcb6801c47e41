//! `create_parents`: the missing directories made, a file in the way refused.

use std::fs;
use std::io;

use super::tmp;
use crate::Options;

#[test]
fn create_parents_makes_the_missing_directories() {
    let d = tmp();
    let p = d.path().join("a").join("b").join("c").join("f");
    Options::new()
        .create_parents(true)
        .write_bytes(&p, b"deep")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"deep");
}

#[test]
fn create_parents_stops_at_a_file_in_the_way() {
    let d = tmp();
    fs::write(d.path().join("a"), "file").unwrap();
    let err = Options::new()
        .create_parents(true)
        .write_bytes(d.path().join("a").join("b").join("f"), b"x")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory, "{err}");
    assert_eq!(fs::read(d.path().join("a")).unwrap(), b"file");
}

//! `sweep`: abandoned temps removed, live writers' temps and other files left.

use std::fs;
use std::io::{self, Write};
use std::time::Duration;

use super::{names, tmp};
use crate::Options;

#[test]
fn sweep_removes_an_abandoned_temp() {
    let d = tmp();
    fs::write(d.path().join(".f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    fs::write(d.path().join("f"), "keep").unwrap();
    assert_eq!(crate::sweep(d.path(), Duration::ZERO).unwrap(), 1);
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn sweep_leaves_a_live_writers_temp() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = Options::new().unnamed_temp(false).create(&p).unwrap();
    f.write_all(b"live").unwrap();
    assert_eq!(crate::sweep(d.path(), Duration::ZERO).unwrap(), 0);
    assert_eq!(names(d.path()).len(), 1);
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"live");
}

#[test]
fn sweep_leaves_young_temps_and_other_files() {
    let d = tmp();
    fs::write(d.path().join(".f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    fs::write(d.path().join(".f.tmp"), "x").unwrap();
    fs::write(d.path().join("f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    assert_eq!(
        crate::sweep(d.path(), Duration::from_secs(3600)).unwrap(),
        0
    );
    assert_eq!(names(d.path()).len(), 3);
}

#[test]
fn sweep_of_a_missing_directory_is_not_found() {
    let d = tmp();
    let err = crate::sweep(d.path().join("nope"), Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

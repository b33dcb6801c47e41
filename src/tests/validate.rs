//! [`AtomicFile::validate_with`] on every platform: the checker reads what
//! was written at a path beside the target, and only an accepted write is
//! committed; [`Options::force`]'s default leaves a writable target alone.

use std::fs;
use std::io::Write;

use super::{names, no_temp, tmp};
use crate::{AtomicFile, Options};

#[test]
fn validate_with_reads_the_content_beside_the_target() {
    let d = tmp();
    let p = d.path().join("app.conf");
    fs::write(&p, b"old").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"new").unwrap();
    let mut seen = None;
    let ok = f
        .validate_with(|path| {
            seen = Some((path.to_path_buf(), fs::read(path)?));
            Ok(true)
        })
        .unwrap();
    assert!(ok);
    let (path, content) = seen.unwrap();
    assert_eq!(content, b"new");
    assert_eq!(
        fs::canonicalize(path.parent().unwrap()).unwrap(),
        fs::canonicalize(d.path()).unwrap()
    );
    assert!(
        crate::sys::is_temp_name(path.file_name().unwrap()),
        "{path:?}"
    );
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(names(d.path()), ["app.conf"]);
}

#[test]
fn a_rejected_write_leaves_the_target_and_no_temp() {
    let d = tmp();
    let p = d.path().join("app.conf");
    fs::write(&p, b"old").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"bad").unwrap();
    assert!(!f
        .validate_with(|path| Ok(fs::read(path)? == b"good"))
        .unwrap());
    drop(f);
    assert_eq!(fs::read(&p).unwrap(), b"old");
    no_temp(d.path());
}

#[test]
fn a_writable_target_is_replaced_without_force() {
    let d = tmp();
    let p = d.path().join("mine");
    fs::write(&p, b"old").unwrap();
    Options::new().write_bytes(&p, b"new").unwrap();
    Options::new()
        .force(true)
        .write_bytes(&p, b"newer")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"newer");
    no_temp(d.path());
}

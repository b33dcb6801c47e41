//! Paths that cannot be written, and what the errors say: the kind, the step
//! and the path.

use std::fs;
use std::io;

use super::{names, tmp};
use crate::{os_error, AtomicFile};

#[test]
fn a_directory_target_is_a_directory_error() {
    let d = tmp();
    let p = d.path().join("sub");
    fs::create_dir(&p).unwrap();
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    assert!(p.is_dir());
    assert_eq!(names(d.path()), ["sub"]);
}

#[test]
fn a_missing_parent_is_not_found() {
    let d = tmp();
    let p = d.path().join("missing").join("f");
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(os_error(&err).is_some(), "keeps the OS error: {err:?}");
    let msg = err.to_string();
    assert!(msg.contains("failed to open directory"), "{msg}");
    assert!(msg.contains("missing"), "{msg}");
    assert!(names(d.path()).is_empty());
}

#[test]
fn a_file_as_parent_is_not_a_directory() {
    let d = tmp();
    fs::write(d.path().join("file"), "x").unwrap();
    let err = crate::write_bytes(d.path().join("file").join("f"), b"x").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::NotADirectory | io::ErrorKind::NotFound
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(d.path().join("file")).unwrap(), b"x");
}

#[test]
fn a_path_ending_in_dot_is_refused() {
    let d = tmp();
    let p = d.path().join(".");
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
}

#[test]
fn an_empty_path_is_an_error() {
    let err = crate::write_bytes("", b"x").unwrap_err();
    assert!(err.to_string().contains("\"\""), "{err}");
}

#[test]
fn errors_name_the_step_and_keep_the_kind() {
    let d = tmp();
    fs::create_dir(d.path().join("dir")).unwrap();
    let err = AtomicFile::create(d.path().join("dir")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot replace"), "{msg}");
    assert!(msg.contains("dir"), "{msg}");
    assert!(std::error::Error::source(&err).is_none());
    assert!(os_error(&err).is_some());
}

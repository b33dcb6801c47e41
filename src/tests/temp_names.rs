//! The temp's name: beside the target, hidden, recognisable, unique, within
//! the name limit.

use super::{names, tmp};
use crate::Options;

#[test]
fn a_named_temp_lives_beside_the_target_with_the_temp_shape() {
    let d = tmp();
    let p = d.path().join("data.json");
    let f = Options::new().unnamed_temp(false).create(&p).unwrap();
    let n = names(d.path());
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].starts_with(".data.json.atomic-write-"), "{n:?}");
    assert!(n[0].ends_with(".tmp"), "{n:?}");
    assert!(crate::sys::is_temp_name(n[0].as_ref()));
    f.commit().unwrap();
    assert_eq!(names(d.path()), ["data.json"]);
}

#[test]
fn temp_names_differ_and_have_the_shape() {
    let a = crate::sys::temp_name("x".as_ref()).unwrap();
    let b = crate::sys::temp_name("x".as_ref()).unwrap();
    assert_ne!(a, b);
    assert!(crate::sys::is_temp_name(&a) && crate::sys::is_temp_name(&b));
}

#[test]
fn temp_names_of_long_targets_stay_within_255() {
    let long = "é".repeat(300);
    let t = crate::sys::temp_name(long.as_ref()).unwrap();
    let s = t
        .to_str()
        .expect("still UTF-8: cut at a character boundary");
    assert!(crate::sys::is_temp_name(&t));
    // Bytes on Unix, UTF-16 units on Windows: both within 255.
    assert!(
        s.len() <= 255 || s.encode_utf16().count() <= 255,
        "{}",
        s.len()
    );
}

#[test]
fn is_temp_name_rejects_other_names() {
    for n in [
        "f",
        ".f.tmp",
        "f.atomic-write-0123456789abcdef.tmp",
        ".f.atomic-write-0123456789abcdeg.tmp",
        ".f.atomic-write-0123456789abcdef.tm",
        ".f.atomic-write-0123456789abcde.tmp",
    ] {
        assert!(!crate::sys::is_temp_name(n.as_ref()), "{n}");
    }
    assert!(crate::sys::is_temp_name(
        ".f.atomic-write-0123456789abcdef.tmp".as_ref()
    ));
}

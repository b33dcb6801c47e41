//! Tips for the usage errors a user hits (issue 19 item 7): a PATH that
//! starts with `-` (clap's own tip, `-- -file`, would start COMMAND here), and
//! `--backup SUFFIX PATH` (the suffix is `-S`'s).

use std::fs;
use std::process::Output;

use crate::common::*;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `atomic-write -- -file` and `atomic-write -file`: exit 2, nothing
/// written, a tip naming `./-file`, none suggesting `-- -file`; `./-file`
/// then writes it, as `cat ./-file` reads it.
#[test]
fn path_starting_with_dash() {
    let d = scratch();
    for args in [
        &["--", "-file"][..],
        &["-file"],
        &["--", "--x"],
        &["--x"],
        &["-m", "644", "--", "-file"],
    ] {
        let out = cli_input(cli(false).args(args).current_dir(d.path()), b"data\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let word = args
            .iter()
            .rev()
            .find(|a| a.starts_with('-') && **a != "--")
            .unwrap();
        assert!(
            err.contains(&format!(
                "tip: a PATH that starts with '-' is given as ./{word} ('--' starts COMMAND)"
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("use '-- "), "{args:?}: {err}");
        assert!(names(d.path()).is_empty(), "{args:?}");
    }
    // A misspelt option keeps clap's suggestion too.
    let out = cli_input(
        cli(false).args(["--no-sycn", "f"]).current_dir(d.path()),
        b"",
    );
    let err = stderr(&out);
    assert!(
        err.contains("a similar argument exists: '--no-sync'"),
        "{err}"
    );
    assert!(!err.contains("use '-- "), "{err}");
    // As the tip says.
    let out = cli_input(cli(false).arg("./-file").current_dir(d.path()), b"data\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(d.path().join("-file")).unwrap(), b"data\n");
    let cat = run(std::process::Command::new("cat")
        .arg("./-file")
        .current_dir(d.path()));
    assert_eq!(cat.stdout, b"data\n");
    // `--` still starts COMMAND after PATH.
    let out = run(cli(false)
        .args(["./-file", "--", "echo", "-n"])
        .current_dir(d.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(d.path().join("-file")).unwrap(), b"");
    assert_only(d.path(), &["-file"]);
}

/// `--backup .bak f`: exit 2, nothing written, a tip pointing at `-S .bak`.
#[test]
fn backup_suffix_without_equals() {
    let d = scratch();
    let p = d.path().join("f");
    fs::write(&p, b"old").unwrap();
    let out = cli_input(cli(false).args(["--backup", ".bak"]).arg(&p), b"new");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("-S .bak (or --suffix=.bak)"), "{err}");
    assert_eq!(read(&p), b"old");
    assert_only(d.path(), &["f"]);
}

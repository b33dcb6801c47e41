//! `-m MODE` as `chmod` takes it (issue 19 item 4): symbolic modes applied
//! to the mode the file would get otherwise, next to GNU `chmod` on a file
//! with the same starting mode under the same umask; octal as before; an
//! invalid mode a usage error, where `chmod` refuses it too.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Starting modes: `None` is a new file (`0666 & ~umask`, as the shell's
/// `: > f` makes it for chmod; atomic-write is given a missing file).
const STARTS: [Option<u32>; 8] = [
    None,
    Some(0o644),
    Some(0o600),
    Some(0o755),
    Some(0o4755),
    Some(0o2750),
    Some(0o1707),
    Some(0o000),
];

const UMASKS: [u32; 3] = [0o022, 0o077, 0o002];

/// What the issue asks for, chmod's corner cases (no class named: the umask
/// rule; `X`; copying a class; `=` alone; setuid, setgid, sticky; several
/// operators in a clause; octal after the operator), and plain octal.
const MODES: &[&str] = &[
    "u+x",
    "u=rw,go=r",
    "a-w",
    "+644",
    "g+s",
    "u+s",
    "ug+s",
    "o+t",
    "+t",
    "-t",
    "a+X",
    "+X",
    "u-x,a+X",
    "go+X",
    "go=u",
    "g=o",
    "o=g",
    "u+rwx,g-w,o=",
    "+w",
    "-w",
    "=r",
    "=",
    "+",
    "u+",
    "-x",
    "=rx",
    "u+x-w+r",
    "a=",
    "go-rwx",
    "a=rwx",
    "=644",
    "-0",
    "+0",
    "-022",
    "u=rwx,g=rx,o=",
    "a+rwx,u-s",
    "g-s,o-t",
    "+s",
    "-s",
    "=s",
    "u=g",
    "755",
    "0644",
    "4755",
    "00600",
    "0",
];

/// Runs, under `umask`, for each starting mode and MODE: `chmod -- MODE` on
/// one file, `atomic-write --mode=MODE` on another of the same starting
/// mode; returns `(start, MODE, chmod's bits, ours)` for each.
fn side_by_side(dir: &Path, umask: u32, named: bool) -> Vec<(String, String, String, String)> {
    let mut script = String::from("set -u\numask \"$1\"\nshift\n");
    let mut cases = Vec::new();
    for (i, start) in STARTS.iter().enumerate() {
        for (j, m) in MODES.iter().enumerate() {
            let (a, b) = (format!("c{i}_{j}"), format!("w{i}_{j}"));
            // The starting files made here: the script runs only chmod and us.
            // A new file: made by the shell (`: >`), under the script's umask.
            let new = match start {
                None => format!(": > {a} && "),
                Some(s) => {
                    for f in [&a, &b] {
                        fs::write(dir.join(f), b"").unwrap();
                        chmod(&dir.join(f), *s);
                    }
                    String::new()
                }
            };
            script += &format!("{new}chmod -- '{m}' {a} 2>/dev/null || : > {a}.failed\n");
            script += &format!("printf new | \"$AW\" --mode='{m}' {b} || : > {b}.failed\n");
            cases.push((start, *m, a, b));
        }
    }
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg("sh")
        .arg(format!("{umask:o}"))
        .current_dir(dir)
        .env("AW", bin())
        .env("ATOMIC_WRITE_NO_TMPFILE", if named { "1" } else { "0" }));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bits = |f: &str| {
        let p = dir.join(f);
        if dir.join(format!("{f}.failed")).exists() {
            "failed".to_string()
        } else {
            format!("{:04o}", mode(&p))
        }
    };
    cases
        .into_iter()
        .map(|(start, m, a, b)| {
            let start = start.map_or("new".into(), |s| format!("{s:04o}"));
            (start, m.to_string(), bits(&a), bits(&b))
        })
        .collect()
}

/// Every MODE × starting mode × umask gives the bits `chmod` gives (the
/// named-temp path under one of the umasks, where the temp is narrowed).
#[test]
fn symbolic_modes_match_chmod() {
    require("chmod");
    let mut wrong = Vec::new();
    let mut n = 0;
    for umask in UMASKS {
        let d = scratch();
        for (start, m, theirs, ours) in side_by_side(d.path(), umask, umask == 0o077) {
            n += 1;
            assert_ne!(theirs, "failed", "chmod refused {m:?}");
            if theirs != ours {
                wrong.push(format!(
                    "umask {umask:03o}, from {start}, -m {m:?}: chmod {theirs}, atomic-write {ours}"
                ));
            }
        }
        // Nothing but the files: no temp left by any run.
        assert!(
            names(d.path())
                .iter()
                .all(|n| n.starts_with('c') || n.starts_with('w')),
            "{:?}",
            names(d.path())
        );
    }
    assert!(
        wrong.is_empty(),
        "{} of {n} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

both_paths! {
    /// The examples of `--help`, spelled out: relative to the existing file's
    /// mode, or to a new file's (`0666 & ~umask`), the umask applied to a
    /// clause without `ugoa` as chmod applies it; `-m -w` (a mode that looks
    /// like an option) is taken as the mode.
    fn symbolic_mode_examples(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o640);
        let aw = |args: &[&str], p: &Path| {
            let out = cli_input(cli(named).args(args).arg(p), b"new");
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            mode(p)
        };
        assert_eq!(aw(&["-m", "u+x"], &p), 0o740);
        assert_eq!(aw(&["-m", "u=rw,go=r"], &p), 0o644);
        assert_eq!(aw(&["-m", "a-w"], &p), 0o444);
        assert_eq!(aw(&["-m", "+644"], &p), 0o644);
        assert_eq!(aw(&["-m", "g+s"], &p), 0o2644);
        assert_eq!(aw(&["-m", "-w"], &p), 0o2444);
        assert_eq!(read(&p), b"new");
        // A new file starts from 0666 & ~umask; `+w` without a class leaves
        // the umask's bits alone.
        let q = d.path().join("new");
        let out = run(Command::new("sh")
            .arg("-c")
            .arg("umask 027; printf x | \"$0\" -m a-w+x \"$1\" && umask 022 && printf y | \"$0\" -m +w \"$1\"")
            .arg(bin())
            .arg(&q)
            .env("ATOMIC_WRITE_NO_TMPFILE", if named { "1" } else { "0" }));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(mode(&q), 0o751);
        assert_only(d.path(), &["f", "new"]);
    }

    /// With `-- COMMAND`, `-a` and `--if-changed`: identical content whose
    /// mode a symbolic `-m` would change is "changed" (the mode is set),
    /// identical content and mode "unchanged" (the very same file).
    fn symbolic_mode_with_other_options(named: bool) {
        let d = scratch();
        let p = d.path().join("f");
        fs::write(&p, b"same\n").unwrap();
        chmod(&p, 0o600);
        let printed = |args: &[&str]| {
            let out = run(cli(named).args(args).arg(&p).args(["--", "echo", "same"]));
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let id = identity(&p);
        assert_eq!(printed(&["--if-changed", "--print-changed", "-m", "go+r"]), "changed\n");
        assert_eq!(mode(&p), 0o644);
        assert_ne!(identity(&p), id);
        let id = identity(&p);
        assert_eq!(printed(&["--if-changed", "--print-changed", "-m", "u+r,go=r"]), "unchanged\n");
        assert_eq!(identity(&p), id);
        assert_eq!(printed(&["-a", "-m", "u+x"]), "");
        assert_eq!(read(&p), b"same\nsame\n");
        assert_eq!(mode(&p), 0o744);
        assert_only(d.path(), &["f"]);
    }

    /// Strings chmod refuses are a usage error (exit 2): nothing written,
    /// nothing created, the message names the mode.
    fn invalid_modes_are_usage_errors(named: bool) {
        require("chmod");
        let d = scratch();
        let p = d.path().join("f");
        let c = d.path().join("c");
        fs::write(&p, b"old").unwrap();
        fs::write(&c, b"").unwrap();
        chmod(&p, 0o640);
        chmod(&c, 0o640);
        for bad in [
            "", "u", "u+644", "+644x", "u+x,", ",u+x", "z+x", "u+q", "+8", "9", "17777", " 644",
            "644 ", "0x1ff", "u +x", "u+x,,g+w", "a=r;", "rwx",
        ] {
            let theirs = run(Command::new("chmod").arg("--").arg(bad).arg(&c));
            assert!(!theirs.status.success(), "chmod took {bad:?}");
            let out = cli_input(cli(named).arg(format!("--mode={bad}")).arg(&p), b"bad");
            assert_eq!(out.status.code(), Some(2), "--mode={bad:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("is not a mode"), "{bad:?}: {err}");
            assert!(out.stdout.is_empty());
            assert_eq!(read(&p), b"old");
            assert_eq!(mode(&p), 0o640);
        }
        assert_only(d.path(), &["c", "f"]);
    }
}

/// `install -m` takes the same octal and symbolic strings (it applies them to
/// 0, not to the file's mode): whatever it accepts, so do we, and the reverse.
#[test]
fn modes_install_accepts_are_accepted() {
    require("install");
    let d = scratch();
    let src = d.path().join("src");
    fs::write(&src, b"x").unwrap();
    for m in MODES.iter().chain(&["u", "+8", "u+644", "rw"]) {
        let dst = d.path().join("dst");
        let theirs = run(Command::new("install")
            .arg(format!("--mode={m}"))
            .arg(&src)
            .arg(&dst))
        .status
        .success();
        let ours = cli_input(
            Command::new(bin()).arg(format!("--mode={m}")).arg(&dst),
            b"x",
        );
        assert_eq!(
            ours.status.success(),
            theirs,
            "--mode={m:?}: install {theirs}, atomic-write {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let _ = fs::remove_file(&dst);
    }
}

//! The man page a user reads and the README steps a user follows (issue 19
//! item 6, 7): EXAMPLES, EXIT STATUS, ENVIRONMENT and SEE ALSO rendered by
//! `man` and `groff` with the example lines intact; SYNOPSIS with `--
//! COMMAND` and `-m MODE`; the per-user zsh completion step in real zsh; the
//! README's install commands and wording.

use std::fs;
use std::process::Command;

use crate::common::*;

fn man_roff() -> String {
    let out = run(Command::new(bin()).args(["--generate", "man"]));
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Lines of the examples, as a user would copy them.
const EXAMPLE_LINES: &[&str] = &[
    "atomic-write out.json -- jq .a in.json",
    "jq .a in.json | atomic-write --no-empty out.json",
    "atomic-write -p -b -m 644 /etc/app/app.conf < app.conf.new",
    "atomic-write --validate 'visudo -cf %s' /etc/sudoers.d/app < app.sudoers",
    "[ \"$(render-config | atomic-write --if-changed --print-changed app.conf)\" = changed ] \\",
    "  && systemctl reload app",
    "atomic-write -b app.conf < new                  # app.conf~",
    "atomic-write --backup=numbered app.conf < new   # app.conf.~1~, app.conf.~2~, ...",
    "atomic-write -S .bak app.conf < new             # app.conf.bak",
    "atomic-write -m u+x deploy.sh < deploy.sh.new",
    "atomic-write ./-file < data",
];

/// The sections, in roff: examples in no-fill blocks.
#[test]
fn man_page_has_the_sections() {
    let roff = man_roff();
    for part in [
        ".SH SYNOPSIS",
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH \"SEE ALSO\"",
        ".nf",
        "VERSION_CONTROL",
        "SIMPLE_BACKUP_SUFFIX",
        "ATOMIC_WRITE_NO_TMPFILE",
    ] {
        assert!(roff.contains(part), "man page lacks {part}:\n{roff}");
    }
    // clap's closing lines are sections now, not one reflowed EXTRA.
    assert!(!roff.contains(".SH EXTRA"), "{roff}");
}

/// As `man -l` and `groff -man -Tutf8` render it: the section headings, the
/// synopsis forms, every example line intact on a line of its own, even on
/// a narrow terminal.
#[test]
#[ignore = "needs man, groff"]
fn man_page_renders_sections_and_examples() {
    require("man");
    require("groff");
    let d = scratch();
    let page = d.path().join("atomic-write.1");
    fs::write(&page, man_roff()).unwrap();
    let man = run(Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&page)
        .env("MANWIDTH", "60")
        .env("LC_ALL", "C.UTF-8"));
    let groff = run(Command::new("groff")
        .args(["-man", "-Tutf8", "-P", "-c"])
        .arg(&page)
        .env("LC_ALL", "C.UTF-8"));
    for (tool, out) in [("man", man), ("groff", groff)] {
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // groff -Tutf8 may still overstrike bold: drop "X\bX".
        let raw = String::from_utf8(out.stdout).unwrap();
        let mut text = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if chars.peek() == Some(&'\u{8}') {
                chars.next();
                continue;
            }
            text.push(c);
        }
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXAMPLES",
            "EXIT STATUS",
            "ENVIRONMENT",
            "SEE ALSO",
        ] {
            assert!(
                lines.contains(&heading),
                "{tool}: no {heading} heading:\n{text}"
            );
        }
        for form in [
            "atomic-write [OPTIONS] PATH < INPUT",
            "atomic-write [OPTIONS] PATH -- COMMAND [ARG...]",
            "atomic-write --sweep [--older-than SECONDS] DIR",
        ] {
            assert!(
                lines.iter().any(|l| l.trim() == form),
                "{tool}: no {form:?}:\n{text}"
            );
        }
        // Filled: words may wrap between lines.
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for arg in [
            "[-m MODE]",
            "[-S SUFFIX]",
            "[--backup[=CONTROL]]",
            "[--no-empty]",
            "[--validate CMD]",
            "[-f]",
        ] {
            assert!(words.contains(arg), "{tool}: no {arg}:\n{text}");
        }
        for example in EXAMPLE_LINES {
            assert!(
                lines.iter().any(|l| l.trim_start() == example.trim_start()
                    && l.len() - l.trim_start().len() >= 4),
                "{tool}: example line {example:?} not intact:\n{text}"
            );
        }
        for var in ["VERSION_CONTROL", "SIMPLE_BACKUP_SUFFIX"] {
            assert!(
                lines.iter().any(|l| l.trim() == var),
                "{tool}: {var}:\n{text}"
            );
        }
    }
}

/// README's per-user zsh step, run in real zsh with a fresh HOME: with the
/// `fpath` line the completion is found; without it (zsh's default fpath
/// lacks the directory) it is not, which is why the README says to add it.
#[test]
#[ignore = "needs zsh"]
fn readme_per_user_zsh_completion_works() {
    require("zsh");
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let install =
        "atomic-write --generate complete-zsh > ~/.local/share/zsh/site-functions/_atomic-write";
    let fpath = "fpath=(~/.local/share/zsh/site-functions $fpath)";
    for line in [
        "mkdir -p ~/.local/share/zsh/site-functions",
        install,
        fpath,
        "autoload -Uz compinit && compinit",
    ] {
        assert!(
            readme.lines().any(|l| l.trim() == line),
            "README lacks {line:?}"
        );
    }
    for with_fpath in [true, false] {
        let home = scratch();
        let sh = format!(
            "mkdir -p ~/.local/share/zsh/site-functions && \"$AW\" {}",
            install.trim_start_matches("atomic-write ")
        );
        let out = run(Command::new("sh")
            .arg("-c")
            .arg(&sh)
            .env("HOME", home.path())
            .env("AW", bin()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rc = if with_fpath {
            format!("{fpath}\nautoload -Uz compinit && compinit\n")
        } else {
            "autoload -Uz compinit && compinit\n".to_string()
        };
        fs::write(home.path().join(".zshrc"), rc).unwrap();
        let out = run(Command::new("zsh")
            .args(["-i", "-c", "print -r -- \"[${_comps[atomic-write]}]\""])
            .env("HOME", home.path())
            .env_remove("ZDOTDIR"));
        let got = String::from_utf8_lossy(&out.stdout);
        let want = if with_fpath { "[_atomic-write]" } else { "[]" };
        assert_eq!(
            got.trim(),
            want,
            "with fpath line: {with_fpath}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// README's Install works from a clone until the crate is published, and the
/// user-facing docs use no word from the project's own history.
#[test]
fn readme_install_and_wording() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let readme = fs::read_to_string(format!("{dir}/README.md")).unwrap();
    assert!(
        readme.contains("cargo install --path . --features cli"),
        "README Install"
    );
    assert!(
        readme.contains("cargo doc --open"),
        "README: docs from a clone"
    );
    assert!(
        !readme.contains("cargo install atomic-write"),
        "not published yet"
    );
    for doc in ["README.md", "python/README.md", "CHANGELOG.md"] {
        let text = fs::read_to_string(format!("{dir}/{doc}"))
            .unwrap()
            .to_lowercase();
        assert!(!text.contains("the seed"), "{doc} says \"the seed\"");
    }
    let py = fs::read_to_string(format!("{dir}/python/README.md")).unwrap();
    assert!(
        !py.contains("](../"),
        "python/README.md links outside the package"
    );
}

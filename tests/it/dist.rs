//! What the crate ships besides its code: the license texts in the published
//! package; the man page and shell completions that `atomic-write --generate`
//! renders from the clap definition.
//!
//! The option list is taken from that definition (`src/cli/args.rs`, included as
//! the `cli_args` fuzz target includes it), never written out here, so a flag
//! added there is checked in every output without touching this file.

use crate::common;

#[allow(dead_code)]
#[path = "../../src/cli/args.rs"]
mod cli;

use std::path::Path;
use std::process::{Command, Stdio};

use clap::CommandFactory;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    let path = manifest_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `cargo package --list`: the files `cargo publish` would upload. Offline and
/// quick (nothing is built or fetched).
fn packaged_files() -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = common::run(
        Command::new(cargo)
            .args(["package", "--list", "--allow-dirty", "--offline"])
            .current_dir(manifest_dir()),
    );
    assert!(
        out.status.success(),
        "cargo package --list failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo package --list prints UTF-8 paths")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `license = "MIT OR Apache-2.0"` promises both texts; the package carries
/// them, with the documents README links to, and not the fuzz or CI trees.
#[test]
fn package_carries_the_license_texts() {
    let files = packaged_files();
    for name in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "TESTING.md",
        "BENCHMARKS.md",
        "CHANGELOG.md",
    ] {
        assert!(
            files.iter().any(|f| f == name),
            "{name} missing from `cargo package --list`: {files:?}"
        );
    }
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("fuzz/") || f.starts_with(".ci/") || f.starts_with("python/")),
        "fuzz/, .ci/ and python/ (the Python package) are excluded from the package: {files:?}"
    );

    assert!(
        read("Cargo.toml").contains("license = \"MIT OR Apache-2.0\""),
        "Cargo.toml's license changed: update the license files and this test"
    );
    let mit = read("LICENSE-MIT");
    assert!(mit.starts_with("Copyright (c) "), "{mit}");
    assert!(
        mit.contains("Permission is hereby granted, free of charge, to any")
            && mit.contains("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF"),
        "LICENSE-MIT is not the MIT license text"
    );
    let apache = read("LICENSE-APACHE");
    assert!(
        apache.contains("Apache License")
            && apache.contains("Version 2.0, January 2004")
            && apache.contains("END OF TERMS AND CONDITIONS"),
        "LICENSE-APACHE is not the Apache License 2.0 text"
    );
}

/// Every long option (and visible alias) `--help` lists, as `--name`, from
/// the clap definition.
fn long_options() -> Vec<String> {
    let mut cmd = cli::Cli::command();
    cmd.build();
    let longs: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long_and_visible_aliases())
        .flatten()
        .map(|l| format!("--{l}"))
        .collect();
    for known in ["--help", "--version", "--mode", "--no-clobber", "--no-sync"] {
        assert!(longs.iter().any(|l| l == known), "{known} not in {longs:?}");
    }
    longs
}

/// Runs `cmd`, which must succeed with nothing on stderr; its stdout.
#[track_caller]
fn stdout_of(cmd: &mut Command) -> String {
    let out = common::run(cmd);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{cmd:?}: stdout not UTF-8: {e}"))
}

/// `atomic-write --generate KIND`.
fn generate(kind: &str) -> String {
    stdout_of(Command::new(common::bin()).args(["--generate", kind]))
}

/// Whether `text` holds `option` as a whole word (`--no-sync` is not found
/// in `--no-sync-dir`).
fn has_word(text: &str, option: &str) -> bool {
    text.match_indices(option).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + option.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

#[track_caller]
fn assert_lists_every_option(what: &str, text: &str, spell: impl Fn(&str) -> String) {
    let missing: Vec<String> = long_options()
        .iter()
        .map(|l| spell(l))
        .filter(|l| !has_word(text, l))
        .collect();
    assert!(missing.is_empty(), "{what} lacks {missing:?}:\n{text}");
}

/// Writes `text` to `name` in a fresh scratch directory.
fn scratch_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = common::scratch();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    (dir, path)
}

/// The man page is roff for section 1 and its source documents every option.
#[test]
fn man_page_lists_every_option() {
    let roff = generate("man");
    for part in [
        ".TH atomic-write 1",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
    ] {
        assert!(roff.contains(part), "man page lacks {part}:\n{roff}");
    }
    // In roff, `\-` is a dash and `\fB`, `\fI`, `\fR` switch fonts.
    let plain = ["\\fB", "\\fI", "\\fR", "\\fP"]
        .iter()
        .fold(roff.replace("\\-", "-"), |t, font| t.replace(font, ""));
    assert_lists_every_option("man page (roff)", &plain, str::to_owned);
}

/// The man page as `man` renders it documents every option.
#[test]
#[ignore = "needs man"]
fn man_page_renders_every_option() {
    common::require("man");
    let roff = generate("man");
    let (_dir, page) = scratch_file("atomic-write.1", &roff);
    let text = stdout_of(
        Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(&page)
            .env("MANWIDTH", "300"),
    );
    assert_lists_every_option("man page (rendered)", &text, str::to_owned);
    assert!(
        text.contains("atomic-write - Replace PATH atomically"),
        "{text}"
    );
}

/// Each completion script offers every option and is valid in its shell.
#[test]
fn completions_list_every_option() {
    let bash = generate("complete-bash");
    assert_lists_every_option("bash completion", &bash, str::to_owned);
    let zsh = generate("complete-zsh");
    assert!(zsh.starts_with("#compdef atomic-write\n"), "{zsh}");
    assert_lists_every_option("zsh completion", &zsh, str::to_owned);
    let fish = generate("complete-fish");
    // fish spells `--name` as `-l name`.
    assert_lists_every_option("fish completion", &fish, |l| {
        format!("-l {}", l.trim_start_matches("--"))
    });

    common::require("bash");
    let (_dir, path) = scratch_file("atomic-write.bash", &bash);
    stdout_of(Command::new("bash").arg("-n").arg(&path));
}

/// The zsh and fish completion scripts are valid in their shells.
#[test]
#[ignore = "needs zsh, fish"]
fn completions_parse_in_zsh_and_fish() {
    for (shell, check, kind, name) in [
        ("zsh", "-n", "complete-zsh", "_atomic-write"),
        ("fish", "--no-execute", "complete-fish", "atomic-write.fish"),
    ] {
        common::require(shell);
        let (_dir, path) = scratch_file(name, &generate(kind));
        stdout_of(Command::new(shell).arg(check).arg(&path));
    }
}

/// What bash offers for the word `cur` after `atomic-write`: the generated
/// script sourced, the function it registers with `complete` called as bash
/// itself calls it.
fn bash_completes(cur: &str) -> Vec<String> {
    let (_dir, script) = scratch_file("atomic-write.bash", &generate("complete-bash"));
    let out = stdout_of(
        Command::new("bash")
            .arg("-c")
            .arg(
                r#"set -e
source "$1"
spec=$(complete -p atomic-write)     # complete ... -F FUNCTION atomic-write
f=${spec##*-F }; f=${f%% *}
COMP_WORDS=(atomic-write "$2"); COMP_CWORD=1
COMP_LINE="atomic-write $2"; COMP_POINT=${#COMP_LINE}
"$f" atomic-write "$2" atomic-write
printf '%s\n' "${COMPREPLY[@]}""#,
            )
            .arg("bash")
            .arg(&script)
            .arg(cur),
    );
    let mut offered: Vec<String> = out
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    offered.sort();
    offered
}

/// The long options starting with `prefix`, sorted.
fn longs_starting_with(prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = long_options()
        .into_iter()
        .filter(|l| l.starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// Bash, driven for real: `atomic-write --no-<TAB>` offers exactly the
/// `--no-…` flags, and `--<TAB>` every long option.
#[test]
fn bash_completes_the_real_flags() {
    common::require("bash");
    let no = longs_starting_with("--no-");
    assert!(no.len() >= 3, "{no:?}");
    // clap_complete does not leave out hidden flags: one added to `Cli` shows
    // here first.
    assert_eq!(bash_completes("--no-"), no, "bash offers other --no- flags");
    assert_eq!(
        bash_completes("--"),
        longs_starting_with("--"),
        "bash offers other long options"
    );
}

/// Fish, driven for real (`complete -C`): `--no-<TAB>` offers exactly the
/// `--no-…` flags.
#[test]
#[ignore = "needs fish"]
fn fish_completes_the_real_flags() {
    common::require("fish");
    let (_dir, script) = scratch_file("atomic-write.fish", &generate("complete-fish"));
    let out = stdout_of(
        Command::new("fish")
            .args([
                "--no-config",
                "-c",
                "source $argv[1]; complete -C'atomic-write --no-'",
            ])
            .arg(&script),
    );
    // Each line: the candidate, a tab, its description.
    let mut offered: Vec<String> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
        .collect();
    offered.sort();
    assert_eq!(offered, longs_starting_with("--no-"));
}

/// `--help` hides `--generate` among the options but names the command and
/// every kind in its closing lines, and each kind it names works; the flag
/// must come alone, and a failed write is an I/O error (exit 1).
#[test]
fn generate_is_documented_alone_and_reports_errors() {
    let help = stdout_of(Command::new(common::bin()).arg("--help"));
    assert!(!help.contains("--generate <KIND>"), "{help}");
    let line = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("atomic-write --generate <"))
        .unwrap_or_else(|| panic!("--help does not name --generate:\n{help}"));
    let kinds: Vec<&str> = line.trim_end_matches('>').split('|').collect();
    assert_eq!(
        kinds,
        ["man", "complete-bash", "complete-zsh", "complete-fish"]
    );
    for kind in kinds {
        assert!(!generate(kind).is_empty());
    }

    for args in [
        &["--generate", "man", "x"][..],
        &["-n", "--generate", "man"],
        &["--generate", "pdf"],
        &["--generate"],
    ] {
        let out = common::run(Command::new(common::bin()).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let out = common::run(
        Command::new(common::bin())
            .args(["--generate", "man"])
            .stdout(Stdio::from(full)),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "atomic-write: failed to write to standard output: No space left on device (os error 28)\n"
    );
}

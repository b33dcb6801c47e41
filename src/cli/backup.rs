//! The backup options as `cp`, `mv` and `install` read them: `-b`,
//! `--backup[=CONTROL]`, `-S SUFFIX`, and the `VERSION_CONTROL` and
//! `SIMPLE_BACKUP_SUFFIX` environment variables.
//!
//! - Any of `-b`, `--backup`, `-S` asks for a backup; `--backup=none` (or
//!   `off`) then makes none, even with `-S`.
//! - The kind is `--backup`'s CONTROL if given and not empty, else
//!   `$VERSION_CONTROL` if set and not empty, else `existing`. CONTROL is
//!   one of `none`/`off`, `simple`/`never`, `existing`/`nil`, `numbered`/`t`,
//!   or an abbreviation that names one kind (`num`, `ex`, `s`; not `n`).
//!   An invalid `$VERSION_CONTROL` is a usage error, but only when a backup
//!   is asked for (as with `cp`).
//! - The suffix is `-S`'s if given, else `$SIMPLE_BACKUP_SUFFIX`'s; an empty
//!   one, or one with a `/` before its last part, is `~` instead.

use std::ffi::{OsStr, OsString};

use super::args::{word, Control, VALID};
use super::Cli;
use crate::Backup;

/// The backup that `-b` (`b`), `--backup` (`control`) and `-S` (`suffix`)
/// ask for, with `var` reading the environment; `Err`: a usage error's
/// message.
pub(crate) fn kind(
    b: bool,
    control: Option<Control>,
    suffix: Option<&OsStr>,
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Backup>, String> {
    if !b && control.is_none() && suffix.is_none() {
        return Ok(None);
    }
    let control = match control {
        Some(c) if c != Control::FromEnv => c,
        _ => match var("VERSION_CONTROL").filter(|v| !v.is_empty()) {
            None => Control::Existing,
            Some(v) => v
                .to_str()
                .ok_or(())
                .and_then(|s| word(s).map_err(drop))
                .map_err(|()| format!("invalid value {v:?} for $VERSION_CONTROL: use {VALID}"))?,
        },
    };
    let given = match suffix {
        Some(s) => Some(s.to_os_string()),
        None => var("SIMPLE_BACKUP_SUFFIX"),
    };
    let suffix = given
        .filter(|s| plain(s))
        .unwrap_or_else(|| OsString::from("~"));
    Ok(match control {
        Control::None => None,
        Control::Simple => Some(Backup::Simple(suffix)),
        Control::Numbered => Some(Backup::Numbered),
        Control::Existing | Control::FromEnv => Some(Backup::Existing(suffix)),
    })
}

/// [`kind`] for the parsed command line and the process's environment.
pub(crate) fn kind_of(cli: &Cli) -> Result<Option<Backup>, String> {
    kind(cli.b, cli.backup, cli.suffix.as_deref(), |v| {
        std::env::var_os(v)
    })
}

/// The hint for `--backup SUFFIX PATH` (clap takes SUFFIX for PATH, then
/// finds PATH unexpected): a suffix is given with `-S`.
pub(crate) fn hint(args: &[OsString], e: &clap::Error) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let next = args[..end].windows(3).find(|w| w[0] == "--backup")?[1].to_str()?;
    let control = word(next).is_ok();
    Some(if control {
        format!("tip: the kind of backup is given with '=': --backup={next}")
    } else {
        format!("tip: a backup suffix is given with -S: -S {next} (or --suffix={next})")
    })
}

/// Whether coreutils takes `s` as a suffix: not empty, and its own last
/// part (`a/b` and `/x` are not; `x/` is, and then fails as with `cp`).
fn plain(s: &OsStr) -> bool {
    let b = s.as_encoded_bytes();
    let end = b.iter().rposition(|&c| c != b'/').map_or(0, |i| i + 1);
    end > 0 && !b[..end].contains(&b'/')
}

#[cfg(test)]
mod tests {
    use super::super::args::parse_control;
    use super::*;

    #[test]
    fn control_words_and_abbreviations_as_argmatch_takes_them() {
        for (s, c) in [
            ("none", Control::None),
            ("no", Control::None),
            ("o", Control::None),
            ("t", Control::Numbered),
            ("num", Control::Numbered),
            ("nu", Control::Numbered),
            ("nil", Control::Existing),
            ("e", Control::Existing),
            ("ne", Control::Simple),
            ("s", Control::Simple),
            ("", Control::FromEnv),
        ] {
            assert_eq!(parse_control(s), Ok(c), "{s:?}");
        }
        for s in ["foo", ".bak", "~", "nonex"] {
            let e = parse_control(s).unwrap_err();
            assert!(e.ends_with(&format!("-S {s}")), "{e}");
        }
        let e = parse_control("n").unwrap_err();
        assert!(e.starts_with("ambiguous") && !e.contains("-S"), "{e}");
    }

    #[test]
    fn suffixes_as_coreutils_takes_them() {
        for (s, ok) in [
            ("~", true),
            (".bak", true),
            ("x/", true),
            ("", false),
            ("/", false),
            ("/x", false),
            ("a/b", false),
        ] {
            assert_eq!(plain(OsStr::new(s)), ok, "{s:?}");
        }
    }
}

//! A tip for a PATH that starts with `-`, in place of clap's own: clap
//! suggests `-- -file`, which here starts COMMAND instead. `./-file` is the
//! way, as with `rm` and `cat`.

use std::ffi::OsString;

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Replaces the tip of `e` (a usage error for `args`, `argv[0]` first) where
/// the word it is about may be a PATH that starts with `-`:
///
/// - `atomic-write -file`: `-file` is an unknown option (a similar option
///   clap suggests stays suggested);
/// - `atomic-write -- -file`: PATH is missing and the first word after `--`,
///   taken for COMMAND, starts with `-`.
pub(crate) fn dash_path(args: &[OsString], e: &mut clap::Error) {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let word = match e.kind() {
        ErrorKind::UnknownArgument => {
            let Some(ContextValue::String(bad)) = e.get(ContextKind::InvalidArg) else {
                return;
            };
            // `--foo` as given; `-i` may be a letter inside `-file` (`-f`
            // being an option).
            let bad = bad.clone();
            let short = bad.strip_prefix('-').filter(|c| !c.starts_with('-'));
            args.get(1..end).unwrap_or_default().iter().find(|a| {
                a.to_str().is_some_and(|a| match short {
                    Some(c) => !a.starts_with("--") && a.starts_with('-') && a[1..].contains(c),
                    None => a.starts_with(&bad),
                })
            })
        }
        ErrorKind::MissingRequiredArgument => args.get(end + 1).filter(|a| {
            a.to_str()
                .is_some_and(|a| a.starts_with('-') && a.len() > 1)
        }),
        _ => return,
    };
    let Some(word) = word.and_then(|w| w.to_str()) else {
        return;
    };
    let tip = format!("a PATH that starts with '-' is given as ./{word} ('--' starts COMMAND)");
    e.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![StyledStr::from(tip)]),
    );
}

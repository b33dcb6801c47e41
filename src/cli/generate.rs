//! `atomic-write --generate KIND`: the man page and the shell completions,
//! rendered from the clap definition in `args.rs`, so they never drift from
//! `--help` (ripgrep's `rg --generate` is the model). The flag is hidden from
//! `--help`, which names it in its closing lines; the README says where to
//! install what it prints.
//!
//! It lives outside `args.rs` because the `cli_args` fuzz target includes that
//! file, and it has no use for clap_mangen or clap_complete.

use std::io::{self, Write};

use clap::{value_parser, Arg, ArgMatches, Command, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::args::Cli;

/// What `--generate` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// The man page, `atomic-write.1`, in roff
    Man,
    /// Completions for bash
    CompleteBash,
    /// Completions for zsh
    CompleteZsh,
    /// Completions for fish
    CompleteFish,
}

const ID: &str = "generate";

/// The command line: [`Cli`]'s, plus the hidden `--generate KIND`, which must
/// come alone (so PATH is not required with it).
pub(crate) fn command() -> Command {
    Cli::command().arg(
        Arg::new(ID)
            .long("generate")
            .value_name("KIND")
            .value_parser(value_parser!(Kind))
            .exclusive(true)
            .hide(true)
            .help("Print the man page or a shell completion script, and exit"),
    )
}

/// The kind asked for with `--generate`, if any.
pub(crate) fn requested(matches: &ArgMatches) -> Option<Kind> {
    matches.get_one::<Kind>(ID).copied()
}

/// Prints `kind` to standard output: exit 0, or 1 if writing fails.
pub(crate) fn print(kind: Kind) -> u8 {
    // Rendered whole first: clap_complete panics on a failed write, and a
    // closed pipe (`| head`) is an ordinary error here.
    let text = render(kind);
    let mut out = io::stdout().lock();
    match out.write_all(&text).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("atomic-write: failed to write to standard output: {e}");
            1
        }
    }
}

fn render(kind: Kind) -> Vec<u8> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    let mut text = Vec::new();
    let shell = match kind {
        Kind::Man => return super::man::render(cmd),
        Kind::CompleteBash => Shell::Bash,
        Kind::CompleteZsh => Shell::Zsh,
        Kind::CompleteFish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, name, &mut text);
    text
}

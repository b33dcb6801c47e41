//! The `atomic-write` command: all of it is [`atomic_write::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(atomic_write::cli::run(std::env::args_os()))
}

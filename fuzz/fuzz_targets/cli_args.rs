//! Arbitrary argument lists through the CLI's own parser (`src/cli/args.rs`,
//! included as is): never a panic; a usage error exits 2, `--help` and
//! `--version` exit 0; what parses obeys the documented constraints.
//!
//! Parsing is all the binary does before its first I/O (`cli::run` parses
//! first), so a usage error writes nothing; tests/it/regressions.rs
//! runs the real binary on usage errors to show it.
#![no_main]

#[path = "../../src/cli/args.rs"]
mod cli;

use atomic_write_fuzz::decode;
use clap::error::ErrorKind;
use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let Ok(argv) = decode::argv(&mut u) else {
        return;
    };
    match cli::Cli::try_parse_from(&argv) {
        Ok(cli) => {
            // A mode gives bits, and depends on the umask only through a
            // clause that names no class.
            if let Some(m) = &cli.mode {
                for old in [0, 0o644, 0o7777] {
                    let bits = m.apply(old, 0o022);
                    assert!(bits <= 0o7777, "{argv:?}: {cli:?}");
                    assert!(
                        m.uses_umask() || bits == m.apply(old, 0),
                        "{argv:?}: {cli:?}"
                    );
                }
            }
            if cli.sweep {
                assert!(
                    cli.mode.is_none()
                        && !(cli.no_clobber || cli.append || cli.no_sync || cli.no_follow)
                        && cli.command.is_empty(),
                    "{argv:?}: --sweep with write options: {cli:?}"
                );
            } else {
                assert!(
                    !argv
                        .iter()
                        .any(|a| a.as_encoded_bytes().starts_with(b"--older-than"))
                        || cli
                            .command
                            .iter()
                            .any(|c| c.as_encoded_bytes().starts_with(b"--older-than")),
                    "{argv:?}: --older-than without --sweep: {cli:?}"
                );
            }
        }
        Err(e) => {
            let _ = e.render().to_string();
            let want = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
            assert_eq!(e.exit_code(), want, "{argv:?}: {:?}: {e}", e.kind());
        }
    }
});

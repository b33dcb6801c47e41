//! The command line, parsed by clap: a module of its own so the `cli_args`
//! fuzz target can include it and run the parser on arbitrary arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

// Beside this file; a path of its own so that the fuzz target, which
// includes this file, finds it too.
#[path = "mode.rs"]
pub(crate) mod mode;
use mode::Mode;

/// Replace PATH atomically with standard input (or a command's output).
///
/// The data goes to a temp file beside PATH, which is synced and renamed over
/// PATH only once all input has been read: readers see the old or the new
/// content, never a mix, and a crash, an error or a signal leaves PATH as it
/// was. A symlink at PATH is followed, so the link stays a link.
#[derive(Parser, Debug)]
#[command(name = "atomic-write", version, max_term_width = 100)]
#[command(after_help = "\
Examples:
  atomic-write out.json -- jq .a in.json     # out.json changes only if jq succeeds
  jq .a in.json | atomic-write --no-empty out.json   # a pipe hides jq's failure:
                                             # --no-empty refuses its empty output
  atomic-write -m u+x script.sh < script.sh.new
  atomic-write -p -b /etc/app/app.conf < app.conf.new   # keeps app.conf~
  atomic-write --backup=numbered app.conf < new    # keeps app.conf.~1~, .~2~, ...
  atomic-write --validate 'visudo -cf %s' /etc/sudoers.d/deploy < deploy.new
  [ \"$(gen-config | atomic-write --if-changed --print-changed app.conf)\" = changed ] \\
    && systemctl reload app
  atomic-write ./-file < data                # a PATH starting with '-'
  atomic-write --sweep /var/lib/app          # remove temps left by killed writers

Exit status: 0 success; 1 an I/O error, empty input refused by --no-empty or a
--validate rejection (one line on stderr); 2 usage error (on Windows, also a
Unix-only option);
with -- COMMAND, the command's own status (or 128+signal) if it fails.

Environment: VERSION_CONTROL is the backup kind when --backup has no CONTROL
(or with -b, -S); SIMPLE_BACKUP_SUFFIX the suffix without -S (as for cp).
ATOMIC_WRITE_NO_TMPFILE=1 (a test hook) writes through a named
temp .PATH.atomic-write-*.tmp, as on filesystems without O_TMPFILE.

Man page and shell completions, from this definition:
  atomic-write --generate <man|complete-bash|complete-zsh|complete-fish>")]
pub(crate) struct Cli {
    /// Permission bits of the result, as chmod takes them: octal (644, set as
    /// given, umask not applied) or symbolic (u+x, u=rw,go=r, a-w, +644, g+s,
    /// X, comma lists), applied to the mode the file would get otherwise: the
    /// existing file's, or 0666 & ~umask for a new file. As with chmod, a
    /// clause naming none of ugoa leaves the umask's bits alone (+w under umask
    /// 022 is u+w). Default: keep the existing file's, or 0666 & ~umask.
    /// On Windows only the write bits count: none sets the read-only attribute
    #[arg(short, long, value_name = "MODE", value_parser = Mode::parse, allow_hyphen_values = true)]
    pub(crate) mode: Option<Mode>,

    /// Replace PATH even if this user may not write to it (another user's
    /// file, a read-only mode, an ACL): by default that is refused, as
    /// `echo x > PATH` refuses it. Root may write any file, as with `>`
    #[arg(short = 'f', long)]
    pub(crate) force: bool,

    /// Commit only if the shell command CMD accepts the new content: CMD is
    /// run with `sh -c`, each %s in it replaced by the path of the new
    /// content (already shell-quoted: write %s, not '%s'; %% is a %), and
    /// must exit 0. Else PATH is left
    /// as it was, with exit status 1. The path is the temp file's, beside
    /// PATH (relative includes work), owner-only (0600) until the commit, so
    /// CMD runs as the same user. CMD's output goes to standard error.
    /// Content identical to PATH with --if-changed is not checked (nothing is
    /// written). Unix only
    #[arg(long, value_name = "CMD", value_parser = parse_validate)]
    pub(crate) validate: Option<String>,

    /// Fail if PATH already exists (race-free)
    #[arg(short = 'n', long)]
    pub(crate) no_clobber: bool,

    /// Start from PATH's current content and add the input at its end
    #[arg(short, long)]
    pub(crate) append: bool,

    /// With -a: wait at most this long (decimal seconds, default 10) for
    /// another appender of PATH to finish; 0: don't wait
    #[arg(long, value_name = "SECONDS", value_parser = parse_wait, requires = "append")]
    pub(crate) wait: Option<std::time::Duration>,

    /// Skip fsync: atomic for readers and crashes of this process, not power-safe
    #[arg(long)]
    pub(crate) no_sync: bool,

    /// Replace a symlink at PATH itself instead of the file it points to
    #[arg(long)]
    pub(crate) no_follow: bool,

    /// Give the result none of the existing file's extended attributes (ACL,
    /// security label, user.*): a bare file, as a new one would be (Unix only:
    /// Windows keeps none; refused there)
    #[arg(long)]
    pub(crate) no_xattrs: bool,

    /// Create missing parent directories (as mkdir -p, mode from the umask), each
    /// synced into its parent so the whole path survives a power cut
    #[arg(short = 'p', long)]
    pub(crate) parents: bool,

    /// Keep the replaced version as a backup, as cp/mv/install --backup do
    /// (crash-safely: a hard link to the old file, synced before PATH is
    /// replaced). CONTROL is the kind: none/off (no backup), numbered/t
    /// (PATH.~N~, N one more than the highest; never replaces one),
    /// existing/nil (numbered if PATH has numbered backups, else simple),
    /// simple/never (PATH~, or PATH followed by the -S suffix, replacing the
    /// previous one). Default: $VERSION_CONTROL, else existing. Give CONTROL
    /// with '=': --backup=numbered
    #[arg(
        long,
        value_name = "CONTROL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        value_parser = parse_control,
        overrides_with = "backup"
    )]
    pub(crate) backup: Option<Control>,

    /// Like --backup, but takes no argument
    #[arg(short = 'b')]
    pub(crate) b: bool,

    /// The suffix of simple backups (default: $SIMPLE_BACKUP_SUFFIX, else ~);
    /// makes a backup, as with cp: -S .bak
    #[arg(short = 'S', long, value_name = "SUFFIX", overrides_with = "suffix")]
    pub(crate) suffix: Option<OsString>,

    /// Refuse empty input: if standard input (or COMMAND's output) is empty,
    /// exit 1 with PATH untouched, as ifne(1) would not run the writer. A
    /// pipe's producer that fails (jq '.[' cfg.json | atomic-write cfg.json)
    /// is invisible here, but its empty output is caught; with -a, nothing to
    /// add is refused too
    #[arg(long)]
    pub(crate) no_empty: bool,

    /// Leave PATH untouched (same inode and mtime, no backup, nothing synced) if it
    /// already has exactly this content (and the --mode given); compared in
    /// constant memory, as standard input or COMMAND's output is read:
    /// identical content needs no temp file and no space (a full or read-only
    /// filesystem works; COMMAND must still succeed). Except with -a and
    /// --no-xattrs, which write the temp first and compare it (what a new
    /// file gets from the directory, a default ACL or a label, is known only
    /// by making one), and on Windows, where the temp is written first too
    #[arg(long)]
    pub(crate) if_changed: bool,

    /// With --if-changed: print "changed" or "unchanged" on standard output, so a
    /// script can tell whether PATH was replaced
    #[arg(long, requires = "if_changed")]
    pub(crate) print_changed: bool,

    /// Instead of writing, remove stale temp files that killed writers left in
    /// the directory PATH
    #[arg(long, conflicts_with_all = ["mode", "force", "no_clobber", "append", "no_sync", "no_follow", "parents", "backup", "b", "suffix", "if_changed", "no_xattrs", "no_empty", "validate", "command"])]
    pub(crate) sweep: bool,

    /// With --sweep: only temps last modified at least this many seconds ago
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600,
        requires = "sweep",
        // clap deems `requires` met when the required arg conflicts with one
        // given (`-n --older-than 5 x` passed): conflict with those too.
        conflicts_with_all = ["mode", "force", "no_clobber", "append", "no_sync", "no_follow", "parents", "backup", "b", "suffix", "if_changed", "no_xattrs", "no_empty", "validate", "command"]
    )]
    pub(crate) older_than: u64,

    /// The file to replace
    #[arg(value_name = "PATH", value_hint = clap::ValueHint::AnyPath)]
    pub(crate) path: PathBuf,

    /// Run COMMAND and save its standard output; commit only if it exits 0
    #[arg(last = true, value_name = "COMMAND", value_hint = clap::ValueHint::CommandWithArguments)]
    pub(crate) command: Vec<OsString>,
}

/// What `--backup=CONTROL` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// `--backup` alone (or `--backup=`): as `$VERSION_CONTROL` says.
    FromEnv,
    None,
    Simple,
    Numbered,
    Existing,
}

/// The control words and their kinds, in coreutils' order.
const WORDS: [(&str, Control); 8] = [
    ("none", Control::None),
    ("off", Control::None),
    ("simple", Control::Simple),
    ("never", Control::Simple),
    ("existing", Control::Existing),
    ("nil", Control::Existing),
    ("numbered", Control::Numbered),
    ("t", Control::Numbered),
];

/// The list of valid words, for messages.
pub(crate) const VALID: &str = "none (or off), simple (never), existing (nil), numbered (t)";

/// A control word, or an abbreviation that names one kind (coreutils'
/// `argmatch`: `num` is `numbered`; `n` is ambiguous).
pub(crate) fn word(s: &str) -> Result<Control, String> {
    if let Some((_, c)) = WORDS.iter().find(|(w, _)| *w == s) {
        return Ok(*c);
    }
    let mut found = WORDS
        .iter()
        .filter(|(w, _)| !s.is_empty() && w.starts_with(s));
    match found.next() {
        None => Err(format!("not a backup control: use {VALID}")),
        Some(&(_, c)) if found.all(|&(_, d)| d == c) => Ok(c),
        Some(_) => Err(format!("ambiguous backup control: use {VALID}")),
    }
}

/// Parses `--backup`'s CONTROL: a usage error for anything else, which
/// points at `-S` (`--backup=X` took a suffix before).
pub(crate) fn parse_control(s: &str) -> Result<Control, String> {
    if s.is_empty() {
        return Ok(Control::FromEnv);
    }
    word(s).map_err(|e| {
        if WORDS.iter().any(|(w, _)| w.starts_with(s)) {
            e
        } else {
            format!("{e}; a backup suffix is given with -S: -S {s}")
        }
    })
}

/// Decimal seconds, `0` or more (`2`, `0.5`), at most a day.
fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match s.parse::<f64>() {
        Ok(secs) if plain && (0.0..=86400.0).contains(&secs) => {
            Ok(std::time::Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

/// A `--validate` command: it must read the content, so it names it (`%s`
/// somewhere, `%%` being a literal `%`).
fn parse_validate(s: &str) -> Result<String, String> {
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        match rest.as_bytes().get(i + 1) {
            Some(b's') => return Ok(s.to_string()),
            Some(b'%') => rest = &rest[i + 2..],
            _ => rest = &rest[i + 1..],
        }
    }
    Err(format!(
        "{s:?} has no %s: the command is given the new content's path in place of %s (as in \"visudo -cf %s\")"
    ))
}

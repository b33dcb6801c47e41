//! The man page, `atomic-write.1`: NAME, DESCRIPTION, OPTIONS and VERSION
//! rendered by clap_mangen from the clap definition (so they never drift
//! from `--help`), with a SYNOPSIS that shows `-- COMMAND` and the option
//! arguments, and the sections a user looks for: EXAMPLES (lines kept as
//! written, never reflowed), EXIT STATUS, ENVIRONMENT and SEE ALSO.

use clap::Command;
use clap_mangen::Man;
use roff::{bold, italic, roman, Inline, Roff};

/// The examples: what each does, then the command lines, as typed.
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "Save a command's output, only if the command succeeds (a failing \
         command leaves out.json as it was, and its exit status is ours):",
        &["atomic-write out.json -- jq .a in.json"],
    ),
    (
        "In a pipe, atomic-write cannot see that the producer failed: it \
         replaces the file with whatever arrived, nothing included. \
         --no-empty refuses empty input (exit 1, the file untouched); -- \
         COMMAND above sees the failure itself:",
        &["jq .a in.json | atomic-write --no-empty out.json"],
    ),
    (
        "Deploy a configuration file: missing directories made, the old \
         version kept as app.conf~, mode 644:",
        &["atomic-write -p -b -m 644 /etc/app/app.conf < app.conf.new"],
    ),
    (
        "Commit only what a checker accepts (%s is a path to the new content):",
        &[
            "atomic-write --validate 'visudo -cf %s' /etc/sudoers.d/app < app.sudoers",
            "atomic-write --validate 'nginx -t -c %s' /etc/nginx/nginx.conf < nginx.conf.new",
        ],
    ),
    (
        "Reload a service only when its configuration changed:",
        &[
            "[ \"$(render-config | atomic-write --if-changed --print-changed app.conf)\" = changed ] \\",
            "  && systemctl reload app",
        ],
    ),
    (
        "Backups, as cp, mv and install make them:",
        &[
            "atomic-write -b app.conf < new                  # app.conf~",
            "atomic-write --backup=numbered app.conf < new   # app.conf.~1~, app.conf.~2~, ...",
            "atomic-write -S .bak app.conf < new             # app.conf.bak",
        ],
    ),
    (
        "Modes as chmod takes them, relative to the file's current mode:",
        &[
            "atomic-write -m u+x deploy.sh < deploy.sh.new",
            "atomic-write -m u=rw,go=r report.txt < report.new",
        ],
    ),
    (
        "A file whose name starts with '-' (-- would start COMMAND):",
        &["atomic-write ./-file < data"],
    ),
    (
        "Remove temp files that killed writers left in a directory:",
        &["atomic-write --sweep /var/lib/app"],
    ),
];

/// The exit statuses: (status, meaning).
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success (with --if-changed, unchanged too)."),
    (
        "1",
        "An I/O error, empty input refused by --no-empty, or new content \
         that the --validate command rejected: one line on standard error, atomic-write: \"PATH\": what failed: the OS error. \
         PATH is as it was.",
    ),
    (
        "2",
        "A usage error: an unknown option, an invalid MODE, CONTROL or \
         $VERSION_CONTROL (on Windows, also a Unix-only option). Nothing is \
         written.",
    ),
    (
        "126, 127",
        "COMMAND could not be run (126) or was not found (127), as in a shell.",
    ),
    (
        "other",
        "COMMAND failed: its own exit status, or 128+N if signal N killed it. \
         PATH is as it was.",
    ),
];

/// The environment variables read.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "VERSION_CONTROL",
        "The kind of backup when -b, -S or --backup without CONTROL asks for \
         one: none/off, numbered/t, existing/nil, simple/never, as for cp. \
         Default: existing.",
    ),
    (
        "SIMPLE_BACKUP_SUFFIX",
        "The suffix of simple backups when -S is not given. Default: ~.",
    ),
    (
        "ATOMIC_WRITE_NO_TMPFILE",
        "When set (and not 0), the temp is a named file .PATH.atomic-write-*.tmp \
         from the start, as on filesystems without O_TMPFILE (a test hook).",
    ),
];

const SEE_ALSO: &str = "chmod(1), cp(1), install(1), mv(1), sponge(1), ifne(1), \
                        rename(2), fsync(2), open(2)";

/// One part of the page, written into a buffer.
type Part<'a> = &'a dyn Fn(&mut Vec<u8>) -> std::io::Result<()>;

/// The man page of `cmd` (the CLI's clap definition), in roff.
pub(crate) fn render(cmd: Command) -> Vec<u8> {
    // Its closing lines (examples, exit status, environment) are sections here.
    let mut cmd = cmd.after_help(None::<&str>).after_long_help(None::<&str>);
    cmd.build();
    let man_cmd = &cmd.clone();
    let man = Man::new(cmd);
    let mut page = Vec::new();
    let parts: [Part<'_>; 7] = [
        &|w| man.render_title(w),
        &|w| man.render_name_section(w),
        &|w| synopsis(man_cmd).to_writer(w),
        &|w| man.render_description_section(w),
        &|w| man.render_options_section(w),
        &|w| sections().to_writer(w),
        &|w| man.render_version_section(w),
    ];
    for (i, part) in parts.iter().enumerate() {
        let mut text = Vec::new();
        part(&mut text).expect("writing to a Vec cannot fail");
        // Each part starts with roff's apostrophe preamble: once is enough.
        let text = String::from_utf8(text).expect("roff is UTF-8");
        for line in text.lines() {
            let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
            if i == 0 || !preamble {
                page.extend_from_slice(line.as_bytes());
                page.push(b'\n');
            }
        }
    }
    page
}

/// The three forms, with the option arguments named.
fn synopsis(cmd: &Command) -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SYNOPSIS"]);
    // The two forms of a write start alike.
    let write = || {
        vec![
            bold("atomic-write"),
            roman(" ["),
            italic("OPTIONS"),
            roman("] "),
            italic("PATH"),
        ]
    };
    let mut stdin = write();
    stdin.extend([roman(" < "), italic("INPUT")]);
    let mut command = write();
    command.extend([
        bold(" -- "),
        italic("COMMAND"),
        roman(" ["),
        italic("ARG"),
        roman("...]"),
    ]);
    let sweep = vec![
        bold("atomic-write --sweep"),
        roman(" ["),
        bold("--older-than "),
        italic("SECONDS"),
        roman("] "),
        italic("DIR"),
    ];
    let forms: [Vec<Inline>; 3] = [stdin, command, sweep];
    for form in forms {
        r.text(form);
        r.control("br", []);
    }
    // One text line: a line that starts with a space would break the fill.
    // From the clap definition: every option a write takes, short if it has
    // one, with its argument.
    let mut parts = vec![italic("OPTIONS"), roman(" are:")];
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_positional()
            || arg.is_hide_set()
            || ["help", "version", "sweep", "older_than"].contains(&id)
        {
            continue;
        }
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(c), _) => format!("-{c}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => continue,
        };
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .filter(|_| arg.get_action().takes_values())
            .map(|v| v.to_string());
        let optional = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
        parts.extend([roman(" ["), bold(flag)]);
        match value {
            Some(v) if optional => parts.extend([roman("[="), italic(v), roman("]")]),
            Some(v) => parts.extend([roman(" "), italic(v)]),
            None => {}
        }
        parts.push(roman("]"));
    }
    r.text(parts);
    r
}

/// EXAMPLES, EXIT STATUS, ENVIRONMENT, SEE ALSO.
fn sections() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXAMPLES"]);
    for (what, lines) in EXAMPLES {
        r.control("PP", []).text([roman(*what)]);
        // Indented, each line as written (no fill, no hyphenation).
        r.control("RS", ["4"]).control("nf", []);
        for line in *lines {
            r.text([roman(*line)]);
        }
        r.control("fi", []).control("RE", []);
    }
    r.control("SH", ["EXIT STATUS"]);
    for (status, what) in EXIT_STATUS {
        r.control("TP", [])
            .text([bold(*status)])
            .text([roman(*what)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (name, what) in ENVIRONMENT {
        r.control("TP", []).text([bold(*name)]).text([roman(*what)]);
    }
    r.control("SH", ["SEE ALSO"]).text([roman(SEE_ALSO)]);
    r
}

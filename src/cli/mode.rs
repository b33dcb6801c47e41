//! `-m MODE`: octal, or symbolic as GNU `chmod` takes it (`u+x`,
//! `u=rw,go=r`, `a-w`, `+644`, `g+s`, `X`, comma lists), parsed and applied
//! as coreutils' `mode_compile` and `mode_adjust` do for a regular file.
//!
//! A symbolic mode is applied to the mode the file would get otherwise: the
//! existing target's, or a new file's (`0o666` minus the umask). As with
//! `chmod`, a clause without `u`, `g`, `o` or `a` (`+x`, `-w`, `=r`) leaves
//! the bits set in the umask alone (`+w` under umask 022 is `u+w`), and an
//! octal number after the operator (`+644`) affects all bits. (`install -m`
//! starts from 0 instead: `install -m +x` makes `0111`.)
//!
//! Included by the `cli_args` fuzz target with `args.rs`: std only.

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const USR: u32 = 0o700;
const GRP: u32 = 0o070;
const OTH: u32 = 0o007;
const R: u32 = 0o444;
const W: u32 = 0o222;
const X: u32 = 0o111;
/// Every bit a mode can change.
const ALL: u32 = 0o7777;

/// A parsed `-m MODE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Octal: exactly these bits, whatever the file had.
    Octal(u32),
    /// Symbolic: clauses applied in order to the mode the file would get.
    Symbolic(Vec<Change>),
}

/// One operator of a clause (`u+x`; `u+x-w` is two).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    op: Op,
    /// The bits named by `ugoa` (0: none named, the umask rule applies).
    affected: u32,
    /// The bits named after the operator.
    value: u32,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Set,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `rwxst` or an octal number: `value` as is.
    Ordinary,
    /// `u`, `g` or `o` after the operator: that class's current bits.
    Copy,
    /// `X`: execute, if some execute bit is set already.
    XIfAnyX,
}

impl Mode {
    /// Parses MODE as `chmod` does: an octal number (at most `7777`, an
    /// optional `0o` before it), or clauses `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`
    /// or `[-+=][0-7]+`, separated by commas.
    pub(crate) fn parse(s: &str) -> Result<Mode, String> {
        let invalid = || {
            format!(
                "{s:?} is not a mode: octal (644, at most 7777), or symbolic as chmod \
                 takes it (u+x, u=rw,go=r, a-w, +644)"
            )
        };
        let digits = s.strip_prefix("0o").unwrap_or(s);
        if digits.starts_with(|c: char| c.is_ascii_digit()) {
            return octal(digits).map(Mode::Octal).ok_or_else(invalid);
        }
        let b = s.as_bytes();
        let mut i = 0;
        let mut changes = Vec::new();
        loop {
            let mut affected = 0;
            loop {
                match b.get(i) {
                    Some(b'u') => affected |= S_ISUID | USR,
                    Some(b'g') => affected |= S_ISGID | GRP,
                    Some(b'o') => affected |= S_ISVTX | OTH,
                    Some(b'a') => affected |= ALL,
                    Some(b'=' | b'+' | b'-') => break,
                    _ => return Err(invalid()),
                }
                i += 1;
            }
            while let Some(&c @ (b'=' | b'+' | b'-')) = b.get(i) {
                let op = match c {
                    b'+' => Op::Add,
                    b'-' => Op::Remove,
                    _ => Op::Set,
                };
                i += 1;
                let (value, kind, who) = match b.get(i) {
                    Some(b'0'..=b'7') => {
                        let end = b[i..]
                            .iter()
                            .position(|c| !(b'0'..=b'7').contains(c))
                            .map_or(b.len(), |n| i + n);
                        // `u+644` and `+644x` are invalid, as in chmod.
                        if affected != 0 || !matches!(b.get(end), None | Some(b',')) {
                            return Err(invalid());
                        }
                        let value = octal(&s[i..end]).ok_or_else(invalid)?;
                        i = end;
                        (value, Kind::Ordinary, ALL)
                    }
                    Some(&c @ (b'u' | b'g' | b'o')) => {
                        i += 1;
                        let class = match c {
                            b'u' => USR,
                            b'g' => GRP,
                            _ => OTH,
                        };
                        (class, Kind::Copy, affected)
                    }
                    _ => {
                        let mut value = 0;
                        let mut kind = Kind::Ordinary;
                        while let Some(c) = b.get(i) {
                            match c {
                                b'r' => value |= R,
                                b'w' => value |= W,
                                b'x' => value |= X,
                                b'X' => kind = Kind::XIfAnyX,
                                b's' => value |= S_ISUID | S_ISGID,
                                b't' => value |= S_ISVTX,
                                _ => break,
                            }
                            i += 1;
                        }
                        (value, kind, affected)
                    }
                };
                changes.push(Change {
                    op,
                    affected: who,
                    value,
                    kind,
                });
            }
            match b.get(i) {
                Some(b',') => i += 1,
                None => return Ok(Mode::Symbolic(changes)),
                _ => return Err(invalid()),
            }
        }
    }

    /// The bits to give a file whose mode would otherwise be `old`, under
    /// `umask` (used by clauses that name no class). Octal ignores both.
    pub(crate) fn apply(&self, old: u32, umask: u32) -> u32 {
        let changes = match self {
            Mode::Octal(m) => return *m,
            Mode::Symbolic(changes) => changes,
        };
        let mut mode = old & ALL;
        for c in changes {
            let mut value = c.value;
            match c.kind {
                Kind::Ordinary => {}
                Kind::Copy => {
                    // The class's bits, copied to all three classes.
                    value &= mode;
                    let any = |bits| if value & bits != 0 { bits } else { 0 };
                    value |= any(R) | any(W) | any(X);
                }
                Kind::XIfAnyX => {
                    if mode & X != 0 {
                        value |= X;
                    }
                }
            }
            // The classes named; none named: all but the umask's bits.
            value &= if c.affected != 0 {
                c.affected
            } else {
                !umask & ALL
            };
            mode = match c.op {
                // Unnamed classes are kept; with none named, all are reset.
                Op::Set => (mode & if c.affected != 0 { !c.affected } else { 0 }) | value,
                Op::Add => mode | value,
                Op::Remove => mode & !value,
            };
        }
        mode
    }

    /// Whether the result depends on the umask: a clause names no class.
    pub(crate) fn uses_umask(&self) -> bool {
        match self {
            Mode::Octal(_) => false,
            Mode::Symbolic(changes) => changes.iter().any(|c| c.affected == 0),
        }
    }
}

/// Octal digits only (`from_str_radix` alone would take a sign), at most `7777`.
fn octal(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| matches!(b, b'0'..=b'7')) {
        return None;
    }
    // Leading zeros are fine (chmod takes 00644); the value is checked.
    s.bytes().try_fold(0u32, |m, d| {
        Some(m * 8 + u32::from(d - b'0')).filter(|&m| m <= ALL)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str, old: u32, umask: u32) -> u32 {
        Mode::parse(s).unwrap().apply(old, umask)
    }

    #[test]
    fn octal_as_today() {
        assert_eq!(Mode::parse("644"), Ok(Mode::Octal(0o644)));
        assert_eq!(Mode::parse("0o755"), Ok(Mode::Octal(0o755)));
        assert_eq!(Mode::parse("04755"), Ok(Mode::Octal(0o4755)));
        for bad in ["", "9", "8", "10000", "0o", "64a", "0x1"] {
            assert!(Mode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn symbolic_examples() {
        assert_eq!(sym("u+x", 0o644, 0o022), 0o744);
        assert_eq!(sym("u=rw,go=r", 0o777, 0o022), 0o644);
        assert_eq!(sym("a-w", 0o664, 0o022), 0o444);
        assert_eq!(sym("+644", 0o600, 0o077), 0o644);
        assert_eq!(sym("g+s", 0o755, 0o022), 0o2755);
        assert_eq!(sym("+w", 0o444, 0o022), 0o644);
        assert_eq!(sym("-w", 0o666, 0o022), 0o466);
        assert_eq!(sym("a+X", 0o644, 0), 0o644);
        assert_eq!(sym("a+X", 0o744, 0), 0o755);
        assert_eq!(sym("go=u", 0o640, 0), 0o666);
        assert_eq!(sym("u+", 0o640, 0), 0o640);
        for bad in ["u", "u+644", "+644x", "u+x,", ",u+x", "z+x", "u+q", "+8"] {
            assert!(Mode::parse(bad).is_err(), "{bad:?}");
        }
    }
}

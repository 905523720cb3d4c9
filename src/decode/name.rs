//! Domain names in presentation format, and the case-folded form the
//! matchers compare.
//!
//! Names on the wire are arbitrary bytes chosen by whoever sent the packet.
//! Presentation format (RFC 1035 §5.1) escapes a literal `.` or `\` inside
//! a label and every byte outside printable ASCII as `\DDD`, so a hostile
//! name can never forge a label boundary or smuggle control characters into
//! a log line.

use hickory_proto::rr::Name;

/// Appends `name` in presentation format, without the trailing dot; the
/// root is `"."`.
pub fn write_presentation(name: &Name, out: &mut String) {
    let start = out.len();
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        write_label(label, out);
    }
    if out.len() == start {
        out.push('.');
    }
}

pub fn presentation(name: &Name) -> String {
    let mut s = String::with_capacity(name.len());
    write_presentation(name, &mut s);
    s
}

fn write_label(label: &[u8], out: &mut String) {
    push_escaped(label, &Escapes::LABEL, out);
}

/// Which bytes a context writes as they are: a table, so that finding the
/// next byte to escape is one load per byte (name formatting is the
/// decoder's hottest loop, under a compression-pointer flood most of all).
pub struct Escapes {
    plain: [bool; 256],
    /// Bytes written as `\X` rather than `\DDD`.
    specials: &'static [u8],
}

impl Escapes {
    /// A label of a name: `.` and `\` as `\X`; space and the rest outside
    /// printable ASCII as `\DDD`.
    pub const LABEL: Escapes = Escapes::new(b".\\", false);
    /// Inside a quoted character-string: `"` and `\` as `\X`.
    pub const QUOTED: Escapes = Escapes::new(b"\"\\", true);
    /// Free text where only `\` is special (the escape character itself).
    pub const TEXT: Escapes = Escapes::new(b"\\", true);
    /// A token without spaces (a CAA tag).
    pub const TOKEN: Escapes = Escapes::new(b"", false);
    /// Text with spaces and no specials.
    pub const SPACED: Escapes = Escapes::new(b"", true);

    // Evaluated at compile time only (the constants above), where an index
    // out of bounds would be a build error, never a panic on input.
    #[allow(clippy::indexing_slicing)]
    const fn new(specials: &'static [u8], keep_space: bool) -> Escapes {
        let mut plain = [false; 256];
        let mut b = 0;
        while b < 256 {
            let byte = b as u8;
            plain[b] = byte.is_ascii_graphic() || (keep_space && byte == b' ');
            b += 1;
        }
        let mut i = 0;
        while i < specials.len() {
            plain[specials[i] as usize] = false;
            i += 1;
        }
        Escapes { plain, specials }
    }

    fn is_plain(&self, b: u8) -> bool {
        // A u8 always indexes a 256-entry table: the check folds away.
        self.plain.get(usize::from(b)).copied().unwrap_or(false)
    }
}

/// Appends attacker-chosen bytes as printable ASCII: each special byte of
/// `escapes` as `\X`, every other byte it does not keep as `\DDD`. Shared
/// by names and character-strings.
pub fn push_escaped(bytes: &[u8], escapes: &Escapes, out: &mut String) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // Names are almost always plain: copy each run of bytes that needs
        // no escape at once rather than a char at a time.
        let run = rest
            .iter()
            .position(|&b| !escapes.is_plain(b))
            .unwrap_or(rest.len());
        let (clean, tail) = rest.split_at(run);
        if let Ok(text) = std::str::from_utf8(clean) {
            out.push_str(text);
        }
        let Some((&b, after)) = tail.split_first() else {
            break;
        };
        out.push('\\');
        if escapes.specials.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push(char::from(b'0' + b / 100));
            out.push(char::from(b'0' + (b / 10) % 10));
            out.push(char::from(b'0' + b % 10));
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_from_labels(labels: &[&[u8]]) -> Name {
        Name::from_labels(labels.iter().copied()).unwrap()
    }

    #[test]
    fn plain_and_root() {
        assert_eq!(
            presentation(&name_from_labels(&[b"www", b"Example", b"org"])),
            "www.Example.org"
        );
        assert_eq!(presentation(&Name::root()), ".");
    }

    #[test]
    fn hostile_bytes_are_escaped() {
        let n = name_from_labels(&[b"a.b", b"c\\d", b"x\ny\x00", b"\xff "]);
        assert_eq!(presentation(&n), "a\\.b.c\\\\d.x\\010y\\000.\\255\\032");
    }
}

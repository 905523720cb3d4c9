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
    push_escaped(label, b".\\", false, out);
}

/// Appends attacker-chosen bytes as printable ASCII: each byte of
/// `specials` as `\X`, bytes outside printable ASCII as `\DDD` (space too
/// unless `keep_space`). Shared by names and TXT character-strings.
pub fn push_escaped(bytes: &[u8], specials: &[u8], keep_space: bool, out: &mut String) {
    let plain =
        |b: u8| (b.is_ascii_graphic() || (keep_space && b == b' ')) && !specials.contains(&b);
    let mut rest = bytes;
    while !rest.is_empty() {
        // Names are almost always plain: copy each run of bytes that needs
        // no escape at once rather than a char at a time (this loop was
        // half the CPU of a compression-pointer flood).
        let run = rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len());
        let (clean, tail) = rest.split_at(run);
        if let Ok(text) = std::str::from_utf8(clean) {
            out.push_str(text);
        }
        let Some((&b, after)) = tail.split_first() else {
            break;
        };
        if specials.contains(&b) {
            out.push('\\');
            out.push(char::from(b));
        } else {
            out.push('\\');
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

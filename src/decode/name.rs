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
    for &b in bytes {
        if specials.contains(&b) {
            out.push('\\');
            out.push(char::from(b));
        } else if b.is_ascii_graphic() || (keep_space && b == b' ') {
            out.push(char::from(b));
        } else {
            out.push('\\');
            out.push(char::from(b'0' + b / 100));
            out.push(char::from(b'0' + (b / 10) % 10));
            out.push(char::from(b'0' + b % 10));
        }
    }
}

/// Writes `name` (presentation format) folded to lower case into `buf`,
/// dropping one trailing dot, for case-insensitive lookups: resolvers
/// randomise the case of query names (0x20 encoding).
pub fn fold_into(name: &str, buf: &mut String) {
    buf.clear();
    let trimmed = match name.strip_suffix('.') {
        Some(t) if !t.is_empty() && !t.ends_with('\\') => t,
        _ => name,
    };
    buf.push_str(trimmed);
    buf.make_ascii_lowercase();
}

/// Byte offsets at which the suffixes of a presentation-format name start,
/// from the whole name down to its last label ("a.b.c" → 0, 2, 4). A dot
/// escaped as `\.` is part of a label, not a boundary.
pub fn suffix_starts(name: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut first = true;
    std::iter::from_fn(move || {
        if first {
            first = false;
            return (!bytes.is_empty() && name != ".").then_some(0);
        }
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => {
                    // `\DDD` or `\X`
                    let digits = bytes
                        .get(i + 1..i + 4)
                        .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
                    i += if digits { 4 } else { 2 };
                }
                b'.' => {
                    i += 1;
                    return (i < bytes.len()).then_some(i);
                }
                _ => i += 1,
            }
        }
        None
    })
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

    #[test]
    fn fold() {
        let mut buf = String::new();
        fold_into("WwW.ExAmple.ORG.", &mut buf);
        assert_eq!(buf, "www.example.org");
        fold_into(".", &mut buf);
        assert_eq!(buf, ".");
    }

    #[test]
    fn suffixes_respect_escaped_dots() {
        let n = "a.evil\\.com.net";
        let s: Vec<&str> = suffix_starts(n).map(|i| &n[i..]).collect();
        assert_eq!(s, vec!["a.evil\\.com.net", "evil\\.com.net", "net"]);
        let n = "x\\046y.z";
        let s: Vec<&str> = suffix_starts(n).map(|i| &n[i..]).collect();
        assert_eq!(s, vec!["x\\046y.z", "z"]);
        assert_eq!(suffix_starts(".").count(), 0);
        assert_eq!(suffix_starts("").count(), 0);
    }
}

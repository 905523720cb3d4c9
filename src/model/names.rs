//! DNS names and numbers as every stage compares and prints them.
//!
//! Names here are in presentation format (RFC 1035 §5.1, as `decode`
//! writes them). Type mnemonics come from hickory-proto's `RecordType`
//! table (the IANA registry); only the decoder parses wire data with
//! hickory.

use std::borrow::Cow;

use hickory_proto::rr::RecordType;

/// Whether two names are the same text. Names decoded from one message
/// share their text (`Arc<str>` from the decoder's cache), so the same
/// allocation answers at once; otherwise the bytes are compared. A pointer
/// flood repeats one 250-byte owner a thousand times a message, and
/// comparing it byte by byte for each record was a tenth of its cost.
pub fn same_name(a: &str, b: &str) -> bool {
    (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || a == b
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

/// The lengths of the names in a set looked up suffix by suffix (IOC
/// domains, expected zones): a suffix of any other length cannot be in the
/// set, so it is not hashed. A 250-byte name then costs a scan of its
/// bytes, not a hash of each of its suffixes.
#[derive(Clone, Debug, Default)]
pub struct SuffixLengths(Vec<bool>);

impl SuffixLengths {
    pub fn insert(&mut self, len: usize) {
        if self.0.len() <= len {
            self.0.resize(len + 1, false);
        }
        if let Some(slot) = self.0.get_mut(len) {
            *slot = true;
        }
    }

    pub fn may_hold(&self, len: usize) -> bool {
        self.0.get(len).copied().unwrap_or(false)
    }
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

/// `name` equals `zone` or is a name under it (both folded).
pub fn is_at_or_under(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|head| head.ends_with('.') && !head.ends_with("\\."))
}

/// Mnemonic of a type code; `TYPEnnn` (RFC 3597) where there is none.
pub fn type_name(code: u16) -> Cow<'static, str> {
    let extra = match code {
        11 => Some("WKS"),
        29 => Some("LOC"),
        38 => Some("A6"),
        39 => Some("DNAME"),
        99 => Some("SPF"),
        249 => Some("TKEY"),
        256 => Some("URI"),
        _ => None,
    };
    if let Some(name) = extra {
        return Cow::Borrowed(name);
    }
    match RecordType::from(code) {
        RecordType::Unknown(_) | RecordType::ZERO => Cow::Owned(format!("TYPE{code}")),
        known => {
            let s: &'static str = known.into();
            Cow::Borrowed(s)
        }
    }
}

/// Name of a 4-bit header RCODE (RFC 1035, 2136, 8490).
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        12 => "RCODE12",
        13 => "RCODE13",
        14 => "RCODE14",
        _ => "RCODE15",
    }
}

/// The mnemonic of a header OPCODE (IANA's DNS OPCODEs registry),
/// `OPCODEn` for an unassigned one.
pub fn opcode_name(opcode: u8) -> Cow<'static, str> {
    match opcode {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        6 => "DSO".into(),
        n => format!("OPCODE{n}").into(),
    }
}

/// The mnemonic of a record CLASS, `CLASSn` (RFC 3597) for any other,
/// such as an mDNS class with its cache-flush bit set.
pub fn class_name(class: u16) -> Cow<'static, str> {
    match class {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        254 => "NONE".into(),
        255 => "ANY".into(),
        n => format!("CLASS{n}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn names() {
        assert_eq!(type_name(1), "A");
        assert_eq!(type_name(39), "DNAME");
        assert_eq!(type_name(65280), "TYPE65280");
        assert_eq!(rcode_name(3), "NXDOMAIN");
    }
}

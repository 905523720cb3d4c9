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
    buf.push_str(trim_trailing_dot(name));
    buf.make_ascii_lowercase();
}

/// `name` folded as [`fold_into`] folds it: `name` itself when it already
/// is (as decoded names nearly always are), else written into `buf`.
pub fn folded<'a>(name: &'a str, buf: &'a mut String) -> &'a str {
    let trimmed = trim_trailing_dot(name);
    // A fold over every byte, not `any`: without an early exit the test
    // is a few vector instructions for a whole name.
    let upper = trimmed
        .bytes()
        .fold(false, |upper, b| upper | b.is_ascii_uppercase());
    if !upper {
        return trimmed;
    }
    buf.clear();
    buf.push_str(trimmed);
    buf.make_ascii_lowercase();
    buf
}

fn trim_trailing_dot(name: &str) -> &str {
    match name.strip_suffix('.') {
        Some(t) if !t.is_empty() && !t.ends_with('\\') => t,
        _ => name,
    }
}

/// The lengths of the names in a set looked up suffix by suffix (IOC
/// domains, expected zones): a suffix of any other length cannot be in the
/// set, so it is not hashed, and the name is not even scanned for label
/// boundaries: each length the set holds is one byte test at the place
/// its suffix would start.
#[derive(Clone, Debug, Default)]
pub struct SuffixLengths {
    present: Vec<bool>,
    /// The lengths present, longest first.
    descending: Vec<usize>,
}

impl SuffixLengths {
    pub fn insert(&mut self, len: usize) {
        if self.may_hold(len) {
            return;
        }
        if self.present.len() <= len {
            self.present.resize(len + 1, false);
        }
        if let Some(slot) = self.present.get_mut(len) {
            *slot = true;
        }
        let at = self.descending.partition_point(|&l| l > len);
        self.descending.insert(at, len);
    }

    pub fn may_hold(&self, len: usize) -> bool {
        self.present.get(len).copied().unwrap_or(false)
    }

    /// The first `found` gives for a suffix of `name` (presentation
    /// format) that starts at a label boundary and has a length in the
    /// set, trying the longest (most specific) first: what
    /// [`suffix_starts`] filtered by length would give. Each length the
    /// set holds costs a byte test where its suffix would start (a dot, or
    /// the name's start). A dot right after a backslash may be escaped
    /// (`\.` is no boundary, `\\.` is): only a scan from the start tells,
    /// so such a name is scanned, once.
    pub fn find_suffix<'n, T>(
        &self,
        name: &'n str,
        mut found: impl FnMut(&'n str) -> Option<T>,
    ) -> Option<T> {
        let bytes = name.as_bytes();
        if name == "." {
            return None;
        }
        for &len in self.descending.iter().skip_while(|&&l| l > bytes.len()) {
            if len == 0 {
                break;
            }
            let start = bytes.len() - len;
            if start > 0 {
                if bytes.get(start - 1) != Some(&b'.') {
                    continue;
                }
                if start > 1 && bytes.get(start - 2) == Some(&b'\\') {
                    return suffix_starts(name)
                        .filter_map(|start| name.get(start..))
                        .filter(|suffix| self.may_hold(suffix.len()))
                        .find_map(found);
                }
            }
            if let Some(hit) = name.get(start..).and_then(&mut found) {
                return Some(hit);
            }
        }
        None
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

    /// The length-driven search gives what a scan of every label boundary
    /// gives, on names with escaped dots and backslashes, runs of
    /// backslashes and `\DDD`, against sets of every shape.
    #[test]
    fn find_suffix_agrees_with_a_scan_of_every_boundary() {
        use crate::decode::name::{Escapes, push_escaped};
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..20_000 {
            let mut name = String::new();
            for i in 0..1 + next(5) {
                if i > 0 {
                    name.push('.');
                }
                let label: Vec<u8> = (0..1 + next(6))
                    .map(|_| b"ab.\\0\x07"[next(6) as usize])
                    .collect();
                push_escaped(&label, &Escapes::LABEL, &mut name);
            }
            let mut lengths = SuffixLengths::default();
            for _ in 0..next(6) {
                lengths.insert(next(name.len() as u64 + 3) as usize);
            }
            let expected = suffix_starts(&name)
                .filter_map(|start| name.get(start..))
                .find(|suffix| lengths.may_hold(suffix.len()));
            let got = lengths.find_suffix(&name, Some);
            assert_eq!(got, expected, "{name:?} {lengths:?}");
            if got.is_some() {
                hits += 1;
            } else {
                misses += 1;
            }
        }
        assert!(hits > 1_000 && misses > 1_000, "{hits} {misses}");
    }

    #[test]
    fn folded_borrows_what_needs_no_fold_and_folds_the_rest_as_fold_into() {
        for name in [
            "www.example.org",
            "WwW.ExAmple.ORG.",
            "a..",
            ".",
            "a\\.",
            "x.",
            "",
            "ÄB.c",
        ] {
            let mut into = String::new();
            fold_into(name, &mut into);
            let mut buf = String::new();
            assert_eq!(folded(name, &mut buf), into, "{name:?}");
        }
        let mut buf = String::new();
        let name = "www.example.org";
        assert!(std::ptr::eq(folded(name, &mut buf), name));
        assert!(buf.is_empty());
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

    #[test]
    fn names() {
        assert_eq!(type_name(1), "A");
        assert_eq!(type_name(39), "DNAME");
        assert_eq!(type_name(65280), "TYPE65280");
        assert_eq!(rcode_name(3), "NXDOMAIN");
    }
}

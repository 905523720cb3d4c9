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
    for_each_piece(bytes, escapes, |piece| {
        // Every piece is printable ASCII: the check cannot fail.
        if let Ok(text) = std::str::from_utf8(piece) {
            out.push_str(text);
        }
    });
}

/// [`push_escaped`] into bytes, for text validated once when it is done
/// (a name), not once per label.
pub fn push_escaped_bytes(bytes: &[u8], escapes: &Escapes, out: &mut Vec<u8>) {
    for_each_piece(bytes, escapes, |piece| out.extend_from_slice(piece));
}

/// Hands `bytes` escaped to `piece`, as runs of bytes written as they are
/// and escape sequences; every piece is printable ASCII.
#[inline(always)]
fn for_each_piece(bytes: &[u8], escapes: &Escapes, mut piece: impl FnMut(&[u8])) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // Names are almost always plain: hand over each run of bytes that
        // needs no escape at once rather than a byte at a time.
        let run = rest
            .iter()
            .position(|&b| !escapes.is_plain(b))
            .unwrap_or(rest.len());
        let (clean, tail) = rest.split_at(run);
        if !clean.is_empty() {
            piece(clean);
        }
        let Some((&b, after)) = tail.split_first() else {
            break;
        };
        if escapes.specials.contains(&b) {
            piece(&[b'\\', b]);
        } else {
            piece(&[b'\\', b'0' + b / 100, b'0' + (b / 10) % 10, b'0' + b % 10]);
        }
        rest = after;
    }
}

/// Why a name on the wire could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The message ends inside the name.
    Truncated,
    /// A compression pointer that does not point before the name it is
    /// in, or a chase that runs into where it came from.
    BadPointer,
    /// A label length with the reserved 01 or 10 prefix.
    BadLabel,
    /// Over 255 octets on the wire.
    TooLong,
}

/// Reads the name starting at `msg[at]`, following compression pointers,
/// and appends it to `out` in presentation format (as
/// [`write_presentation`] writes it; printable ASCII, so valid UTF-8).
/// Returns where the name ends at `at` (after its first pointer, or its
/// root label).
///
/// Straight from the wire to text, without building a hickory `Name`
/// first (that build and its label iteration were a fifth of the
/// decoder's work). The rules are hickory's `Name::read`, rule for rule,
/// so both accept and refuse the same names (a unit test compares them on
/// the fuzz corpus at every offset, and on generated names): a pointer
/// must point before the start of the labels it continues, a chase must
/// not reach the labels it left, a name is at most 255 octets on the wire.
/// Each pointer moves strictly backwards, so a chase ends.
pub fn read_presentation(msg: &[u8], at: usize, out: &mut Vec<u8>) -> Result<usize, NameError> {
    const MAX_WIRE_LEN: usize = 255;
    let out_start = out.len();
    let mut pos = at;
    let mut segment_start = at;
    let mut chase_limit: Option<usize> = None;
    let mut end: Option<usize> = None;
    let (mut labels, mut label_bytes) = (0usize, 0usize);
    loop {
        if chase_limit.is_some_and(|limit| pos >= limit) {
            return Err(NameError::BadPointer);
        }
        let &len = msg.get(pos).ok_or(NameError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                pos += 1;
                break;
            }
            0x00 => {
                let len = usize::from(len);
                let label = msg
                    .get(pos + 1..pos + 1 + len)
                    .ok_or(NameError::Truncated)?;
                // Wire length with this label and the root label.
                if labels + label_bytes + len + 2 > MAX_WIRE_LEN {
                    return Err(NameError::TooLong);
                }
                if labels > 0 {
                    out.push(b'.');
                }
                push_escaped_bytes(label, &Escapes::LABEL, out);
                labels += 1;
                label_bytes += len;
                pos += 1 + len;
            }
            0xc0 => {
                let &low = msg.get(pos + 1).ok_or(NameError::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                if target >= segment_start {
                    return Err(NameError::BadPointer);
                }
                end.get_or_insert(pos + 2);
                chase_limit = Some(segment_start);
                pos = target;
                segment_start = target;
            }
            _ => return Err(NameError::BadLabel),
        }
    }
    // hickory's final check, on the length as text: a dot per label (one
    // for the root) plus the label bytes.
    if labels.max(1) + label_bytes >= MAX_WIRE_LEN {
        return Err(NameError::TooLong);
    }
    if out.len() == out_start {
        out.push(b'.');
    }
    Ok(end.unwrap_or(pos))
}

#[cfg(test)]
mod tests {
    use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

    /// hickory's reading of the name at `at`: the text and where it ends,
    /// or why not.
    fn hickory_reads(msg: &[u8], at: usize) -> Result<(String, usize), NameError> {
        use hickory_proto::serialize::binary::DecodeError as E;
        let mut dec = BinDecoder::new(msg);
        dec.read_slice(at).unwrap();
        match Name::read(&mut dec) {
            Ok(name) => Ok((presentation(&name), dec.index())),
            Err(E::InsufficientBytes) => Err(NameError::Truncated),
            Err(E::PointerNotPriorToLabel { .. } | E::LabelOverlapsWithOther { .. }) => {
                Err(NameError::BadPointer)
            }
            Err(E::UnrecognizedLabelCode(_) | E::LabelBytesTooLong(_)) => Err(NameError::BadLabel),
            Err(E::DomainNameTooLong(_)) => Err(NameError::TooLong),
            Err(other) => panic!("hickory refused a name for another reason: {other:?}"),
        }
    }

    fn ours(msg: &[u8], at: usize) -> Result<(String, usize), NameError> {
        let mut s = Vec::new();
        read_presentation(msg, at, &mut s).map(|end| (String::from_utf8(s).unwrap(), end))
    }

    #[test]
    fn reads_names_as_hickory_does_on_the_fuzz_corpus_at_every_offset() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/dns_message");
        let mut compared = 0;
        let mut names = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let msg = std::fs::read(entry.unwrap().path()).unwrap();
            for at in 0..msg.len() {
                let theirs = hickory_reads(&msg, at);
                names += usize::from(theirs.is_ok());
                assert_eq!(ours(&msg, at), theirs, "offset {at} of {msg:02x?}");
                compared += 1;
            }
        }
        assert!(compared > 10_000 && names > 1_000, "{compared} {names}");
    }

    #[test]
    fn reads_generated_names_as_hickory_does() {
        // Messages of label lengths, pointers and bytes chosen to hit every
        // rule: long chains, pointers forwards, backwards and into labels,
        // names near 255 octets.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut msg = Vec::new();
            let parts = next() % 12;
            for _ in 0..parts {
                match next() % 6 {
                    0 | 1 => {
                        let len = [1u64, 3, 20, 63, 62][(next() % 5) as usize] as usize;
                        msg.push(len as u8);
                        msg.extend((0..len).map(|_| b"ab.\\x-\x00\xff "[(next() % 8) as usize]));
                    }
                    2 => msg.push(0),
                    3 => {
                        let target = next() % (msg.len() as u64 + 4);
                        msg.extend([0xc0 | (target >> 8) as u8, target as u8]);
                    }
                    4 => msg.push((next() % 256) as u8),
                    _ => msg.extend([0x3f; 64]),
                }
            }
            for at in 0..msg.len() {
                let theirs = hickory_reads(&msg, at);
                if theirs.is_ok() {
                    accepted += 1;
                } else {
                    refused += 1;
                }
                assert_eq!(ours(&msg, at), theirs, "offset {at} of {msg:02x?}");
            }
        }
        assert!(accepted > 1_000 && refused > 1_000, "{accepted} {refused}");
    }

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

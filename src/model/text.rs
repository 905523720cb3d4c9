//! Free text from outside (feed metadata, file names, offending lines
//! echoed in errors) as every output shows it.
//!
//! One function decides, for the terminal, the JSON lines, the syslog
//! formats and the error messages alike, which characters are never
//! written raw: C0 and C1 controls (ESC starts every terminal escape
//! sequence; NEL and CSI are their 8-bit forms), DEL, the Unicode line and
//! paragraph separators (line ends to JSON-lines readers and JavaScript),
//! and the invisible format characters that hide or reorder text (zero
//! width, bidirectional controls, BOM). Each is written `\u{XX}`, the
//! rest as it is: `\` stays, so escaping twice changes nothing and paths
//! and regular expressions in feed metadata stay readable.
//!
//! DNS data is not free text: it is escaped as RFC 1035 presentation
//! format (`\DDD`) where it is decoded.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is never written raw (see the module documentation).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `s` with every unsafe character written `\u{XX}`; borrowed when there
/// is none, as in nearly all text.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    // Printable ASCII, nearly all text, is safe: checked a byte at a time.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.contains(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        push_char(c, &mut out);
    }
    Cow::Owned(out)
}

/// Bytes that should be text (a file name): valid UTF-8 escaped as
/// [`escape_text`] does, each invalid byte as `\xNN` rather than a
/// replacement character that would hide what it was.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return escape_text(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(c, &mut out);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// A path as text, escaped.
pub fn escape_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    escape_bytes(path.as_os_str().as_bytes()).into_owned()
}

fn push_char(c: char, out: &mut String) {
    if is_unsafe_char(c) {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_invisible_characters_are_escaped() {
        assert_eq!(
            escape_text("a\u{1b}[2J\u{7}\u{7f}\u{85}\u{9b}\u{2028}\u{202e}\u{200b}\u{feff}\n\tb"),
            "a\\u{1b}[2J\\u{7}\\u{7f}\\u{85}\\u{9b}\\u{2028}\\u{202e}\\u{200b}\\u{feff}\\u{a}\\u{9}b"
        );
        assert!(matches!(escape_text("plain ü é \\ text"), Cow::Borrowed(_)));
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = escape_text("x\u{1b}]0;t\u{7}\\u{1b}").into_owned();
        assert_eq!(escape_text(&once), once);
    }

    #[test]
    fn invalid_utf8_bytes_are_shown_as_hex() {
        assert_eq!(escape_bytes(b"caf\xe9\x1b.pcap"), "caf\\xe9\\u{1b}.pcap");
        assert_eq!(escape_bytes("ok\u{2028}".as_bytes()), "ok\\u{2028}");
    }
}

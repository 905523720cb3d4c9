//! IOC feed files, told apart by content: STIX 2.1 bundles and MISP
//! event exports (JSON), Zeek intel files (`#fields ...`), CSV with a
//! header, or plain text.
//!
//! * CSV: a header row with `indicator` and `type` columns (any order, any
//!   case); `source` and `reference` are kept as provenance, the optional
//!   lifecycle columns `first_seen`, `last_seen`, `valid_from`,
//!   `valid_until`, `published` (the report's date), `confidence` and `url`
//!   (or `report_url`) are read as such, and every other column is kept as
//!   metadata. Lines starting with `#` are comments.
//! * Text: one indicator per line, type detected; `#` starts a comment.
//!
//! Indicators may be defanged (`evil[.]com`); they are refanged on load.
//! A row of a type the sensor cannot match on the wire (URL, file hash,
//! e-mail) is skipped and counted; a value that does not parse as its
//! declared type is an error naming the file and line.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;

use super::lifecycle::{Times, parse_confidence, parse_time};
use super::{Indicator, IndicatorType, IndicatorValue};
use crate::error::{FileError, FileErrors};
use crate::fsutil::{FEED_MAX_BYTES, read_regular};
use crate::model::text::{escape_text, is_unsafe_char};

/// What one feed file held.
#[derive(Debug)]
pub struct FeedLoad {
    pub indicators: Vec<Indicator>,
    /// Rows of indicator types the sensor does not match (URL, hash, ...).
    pub skipped: u64,
    pub format: FeedFormat,
    /// Values that were valid only once normalised (zero-padded octets),
    /// with their line: the loader shows them, the feed still loads.
    pub warnings: Vec<FileError>,
    /// Lines that do not parse, each with its line: the feed is unusable
    /// when there is one, but every one is found in one reading.
    pub errors: FileErrors,
}

impl FeedLoad {
    pub(super) fn new(format: FeedFormat) -> FeedLoad {
        FeedLoad {
            indicators: Vec::new(),
            skipped: 0,
            format,
            warnings: Vec::new(),
            errors: FileErrors::default(),
        }
    }

    /// The load, or its first error (what stops a run).
    pub fn valid(self) -> Result<FeedLoad, FileError> {
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Ok(self),
        }
    }

    /// The value of `typed`, its warning (if any) kept with `line`.
    pub(super) fn accept(&mut self, feed: &str, line: u64, typed: Typed) -> IndicatorValue {
        if let Some(w) = typed.warning {
            self.warnings.push(FileError::new(feed, line, w));
        }
        typed.value
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    Csv,
    Text,
    Stix,
    Misp,
    ZeekIntel,
}

/// Longest line accepted: a feed line longer than this is not an
/// indicator list but something else given by mistake.
const MAX_LINE_LEN: usize = 64 * 1024;

/// Reads and parses a feed file. `Err` when the file as a whole is wrong
/// (unreadable, not text, not a format); lines that do not parse are in
/// [`FeedLoad::errors`], every one of them.
pub fn load_feed_file(path: &Path) -> Result<FeedLoad, FileError> {
    let name = path.display().to_string();
    let bytes =
        read_regular(path, FEED_MAX_BYTES).map_err(|e| FileError::unreadable(path, "feed", &e))?;
    let text = crate::error::utf8_text(&name, bytes, "an indicator feed")?;
    parse_feed_all(&name, &text)
}

/// Parses feed text; `name` is used in errors and recorded on every
/// indicator. The first bad line is the error.
pub fn parse_feed(name: &str, text: &str) -> Result<FeedLoad, FileError> {
    parse_feed_all(name, text)?.valid()
}

/// Parses feed text, collecting every bad line in [`FeedLoad::errors`].
pub fn parse_feed_all(name: &str, text: &str) -> Result<FeedLoad, FileError> {
    let err = |line: u64, message: String| FileError {
        path: name.to_string(),
        line,
        message,
    };
    let feed: Arc<str> = escape_text(name).into();
    // An editor's or an export's byte-order mark is not part of the first
    // indicator (or of the CSV header).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with(['{', '[']) {
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| err(e.line() as u64, format!("JSON feed: {e}")))?;
        if json.get("type").and_then(serde_json::Value::as_str) == Some("bundle") {
            return super::stix::parse(&feed, &json);
        }
        if super::misp::is_misp(&json) {
            return super::misp::parse(&feed, &json);
        }
        return Err(err(
            1,
            "JSON that is neither a STIX 2.1 bundle nor a MISP event export".into(),
        ));
    }
    if let Some((i, _)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_LEN)
    {
        return Err(err(
            i as u64 + 1,
            format!("line longer than {MAX_LINE_LEN} bytes"),
        ));
    }
    if text.lines().next().is_some_and(super::zeek::is_zeek_intel) {
        return super::zeek::parse(&feed, text);
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(header) if looks_like_csv_header(header) => parse_csv(&feed, text, err),
        _ => parse_text(&feed, text, err),
    }
}

fn looks_like_csv_header(line: &str) -> bool {
    // Building a CSV reader costs as much as parsing a short feed, so a
    // line that cannot hold both column names is turned away first.
    let lower = line.to_ascii_lowercase();
    if !(lower.contains("indicator") && lower.contains("type")) {
        return false;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let Some(Ok(record)) = reader.records().next() else {
        return false;
    };
    let has = |col: &str| record.iter().any(|f| f.trim().eq_ignore_ascii_case(col));
    has("indicator") && has("type")
}

fn parse_csv(
    feed: &Arc<str>,
    text: &str,
    err: impl Fn(u64, String) -> FileError,
) -> Result<FeedLoad, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err(csv_line(&e), format!("bad CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(ind_col), Some(type_col)) = (col("indicator"), col("type")) else {
        return Err(err(
            1,
            "CSV header needs `indicator` and `type` columns".into(),
        ));
    };
    let source_col = col("source");
    let reference_col = col("reference");
    let url_col = col("url").or_else(|| col("report_url"));
    let time_cols = [
        col("valid_from"),
        col("valid_until"),
        col("first_seen"),
        col("last_seen"),
        col("published"),
    ];
    let confidence_col = col("confidence");
    let known_cols: Vec<Option<usize>> = [
        Some(ind_col),
        Some(type_col),
        source_col,
        reference_col,
        url_col,
        confidence_col,
    ]
    .into_iter()
    .chain(time_cols)
    .collect();

    let mut out = FeedLoad::new(FeedFormat::Csv);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.errors
                    .push(err(csv_line(&e), format!("bad CSV row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(raw) = field(Some(ind_col)) else {
            if !record.iter().all(str::is_empty) {
                out.errors.push(err(line, "empty `indicator` field".into()));
            }
            continue;
        };
        let declared = record.get(type_col).unwrap_or_default();
        let value = match parse_typed(&raw, declared) {
            Ok(Some(typed)) => out.accept(feed, line, typed),
            Ok(None) => {
                out.skipped += 1;
                continue;
            }
            Err(m) => {
                out.errors.push(err(line, m));
                continue;
            }
        };
        let times = match csv_times(&record, time_cols, confidence_col) {
            Ok(t) => t,
            Err(m) => {
                out.errors.push(err(line, m));
                continue;
            }
        };
        let meta = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !known_cols.contains(&Some(*i)))
            .filter_map(|(i, h)| {
                let v = record.get(i).filter(|v| !v.is_empty())?;
                Some((h.to_string(), v.to_string()))
            })
            .collect();
        let mut ind = indicator(
            value,
            feed,
            line,
            field(source_col),
            field(reference_col),
            meta,
        );
        ind.url = field(url_col).map(escaped);
        ind.lifecycle = times.lifecycle();
        out.indicators.push(ind);
    }
    Ok(out)
}

/// The lifecycle columns of one CSV row: `[valid_from, valid_until,
/// first_seen, last_seen, published]` and `confidence`.
fn csv_times(
    record: &csv::StringRecord,
    cols: [Option<usize>; 5],
    confidence: Option<usize>,
) -> Result<Times, String> {
    let text = |c: Option<usize>| c.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
    let time = |c: Option<usize>| text(c).map(parse_time).transpose();
    let [valid_from, valid_until, first_seen, last_seen, published] = cols;
    Ok(Times {
        valid_from: time(valid_from)?,
        valid_until: time(valid_until)?,
        first_seen: time(first_seen)?,
        last_seen: time(last_seen)?,
        reported: time(published)?,
        confidence: text(confidence).map(parse_confidence).transpose()?,
    })
}

fn csv_line(e: &csv::Error) -> u64 {
    e.position().map_or(0, |p| p.line())
}

fn parse_text(
    feed: &Arc<str>,
    text: &str,
    err: impl Fn(u64, String) -> FileError,
) -> Result<FeedLoad, FileError> {
    let mut out = FeedLoad::new(FeedFormat::Text);
    for (i, raw_line) in text.lines().enumerate() {
        let line = i as u64 + 1;
        let content = strip_comment(raw_line).trim();
        if content.is_empty() {
            continue;
        }
        if content.split_whitespace().nth(1).is_some() {
            out.errors.push(err(
                line,
                format!("expected one indicator per line, found `{content}`"),
            ));
            continue;
        }
        match parse_typed(content, "") {
            Ok(Some(typed)) => {
                let v = out.accept(feed, line, typed);
                out.indicators
                    .push(indicator(v, feed, line, None, None, Vec::new()));
            }
            Ok(None) => out.skipped += 1,
            Err(m) => out.errors.push(err(line, m)),
        }
    }
    Ok(out)
}

/// `#` starts a comment at the start of a line or after whitespace, so a
/// URL fragment inside an indicator is not cut.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace)) {
            return line.get(..i).unwrap_or_default();
        }
    }
    line
}

/// One indicator with its provenance. The feed's free text (source,
/// reference, metadata) is whatever its author wrote: it is kept escaped
/// ([`escape_text`]), so every output that carries it, to a terminal, a
/// JSON line or a SIEM, shows the same safe text.
pub(super) fn indicator(
    value: IndicatorValue,
    feed: &Arc<str>,
    line: u64,
    source: Option<String>,
    reference: Option<String>,
    meta: Vec<(String, String)>,
) -> Indicator {
    let text = escaped;
    let kind = match &value {
        IndicatorValue::Addr(IpAddr::V4(_)) => IndicatorType::Ipv4,
        IndicatorValue::Addr(IpAddr::V6(_)) => IndicatorType::Ipv6,
        IndicatorValue::Net(_) => IndicatorType::Cidr,
        IndicatorValue::Domain(_) => IndicatorType::Domain,
    };
    Indicator {
        value,
        kind,
        source: source.map(text),
        reference: reference.map(text),
        meta: meta.into_iter().map(|(k, v)| (text(k), text(v))).collect(),
        feed: feed.clone(),
        line,
        url: None,
        lifecycle: Default::default(),
    }
}

/// Feed text as indicators keep it ([`escape_text`]).
pub(super) fn escaped(s: String) -> String {
    match escape_text(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(escaped) => escaped,
    }
}

/// Declared types, normalised: what a feed may write in its `type` column.
enum Declared {
    Address,
    Network,
    Domain,
    /// Detect from the value.
    Any,
    /// A type the sensor cannot see in DNS answers.
    NotMatchable,
}

fn declared(type_field: &str) -> Result<Declared, String> {
    let t = type_field.trim().to_ascii_lowercase();
    Ok(match t.as_str() {
        "" | "auto" => Declared::Any,
        "ip" | "ipv4" | "ipv6" | "ip-dst" | "ip-src" | "ipv4-addr" | "ipv6-addr" | "addr"
        | "address" | "ip_address" => Declared::Address,
        "cidr" | "network" | "subnet" | "ipv4-net" | "ipv6-net" | "ipv4-cidr" | "ipv6-cidr"
        | "netblock" => Declared::Network,
        "domain" | "hostname" | "fqdn" | "domain-name" | "host" | "dns" | "name" => {
            Declared::Domain
        }
        "url" | "uri" | "md5" | "sha1" | "sha256" | "sha512" | "hash" | "filehash" | "email"
        | "email-addr" | "file" | "filename" | "ja3" | "user-agent" | "mutex" | "yara" => {
            Declared::NotMatchable
        }
        other => return Err(format!("unknown indicator type `{other}`")),
    })
}

/// A parsed value, and what had to be normalised to get it.
#[derive(Debug)]
pub(super) struct Typed {
    pub value: IndicatorValue,
    /// Why the value as written is not quite the value loaded.
    pub warning: Option<String>,
}

/// Parses one indicator of the declared type. `Ok(None)` for a type that
/// is skipped by design.
///
/// A value that would load as something that can never match is an
/// error, not a silent dud: an invisible or control character anywhere
/// (IDNA would drop a zero-width space and keep the rest), or numbers and
/// dots that are not an IPv4 address. Zero-padded octets are read as
/// decimal, with a warning: `010` is 8 to inet_aton.
pub(super) fn parse_typed(raw: &str, type_field: &str) -> Result<Option<Typed>, String> {
    let decl = declared(type_field)?;
    if matches!(decl, Declared::NotMatchable) {
        return Ok(None);
    }
    let trimmed = raw.trim();
    if let Some(c) = trimmed.chars().find(|c| is_unsafe_char(*c)) {
        return Err(format!(
            "`{raw}`: invisible or control character U+{:04X}",
            u32::from(c)
        ));
    }
    let mut value = refang(trimmed);
    let mut warning = None;
    if let Some(unpadded) = unpad_ipv4(&value) {
        warning = Some(format!(
            "`{raw}` has zero-padded octets: read as {unpadded} (decimal, not octal)"
        ));
        value = unpadded;
    }
    let parsed = match decl {
        Declared::NotMatchable => return Ok(None),
        Declared::Address => parse_address(&value)
            .or_else(|| parse_network(&value))
            .ok_or_else(|| format!("`{raw}` is not an IP address")),
        Declared::Network => parse_network(&value)
            .or_else(|| parse_address(&value))
            .ok_or_else(|| format!("`{raw}` is not a CIDR network")),
        Declared::Domain => parse_domain(&value).map_err(|m| format!("`{raw}`: {m}")),
        Declared::Any => parse_address(&value)
            .or_else(|| parse_network(&value))
            .map_or_else(
                || parse_domain(&value).map_err(|m| format!("`{raw}`: {m}")),
                Ok,
            ),
    }?;
    Ok(Some(Typed {
        value: parsed,
        warning,
    }))
}

/// `185.020.187.008` (optionally with `/len`) with its octets read as
/// decimal: `Some` only when an octet has a leading zero.
fn unpad_ipv4(s: &str) -> Option<String> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let octets: Vec<&str> = addr.split('.').collect();
    if octets.len() != 4 || !octets.iter().any(|o| o.len() > 1 && o.starts_with('0')) {
        return None;
    }
    let mut parts = [0u8; 4];
    for (part, octet) in parts.iter_mut().zip(&octets) {
        if octet.is_empty() || octet.len() > 3 || !octet.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *part = octet.parse().ok()?;
    }
    let addr = Ipv4Addr::from(parts);
    Some(match len {
        Some(len) => format!("{addr}/{len}"),
        None => addr.to_string(),
    })
}

/// The host of a URL indicator, as an address or a domain: a URL on a
/// host says the host serves the attacker.
pub(super) fn host_of_url(url: &str) -> Option<IndicatorValue> {
    if url.contains(is_unsafe_char) {
        return None;
    }
    let url = refang(url.trim()).replace("hxxp", "http");
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    parse_address(host).map_or_else(|| parse_domain(host).ok(), Some)
}

/// Defanged dots and colons back to what they stand for; the ideographic
/// full stops (U+3002, U+FF0E, U+FF61) are label separators too (RFC 3490
/// §3.1), in addresses as in names.
fn refang(s: &str) -> String {
    s.replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace(['\u{3002}', '\u{ff0e}', '\u{ff61}'], ".")
}

fn parse_address(s: &str) -> Option<IndicatorValue> {
    s.parse::<IpAddr>().ok().map(IndicatorValue::Addr)
}

fn parse_network(s: &str) -> Option<IndicatorValue> {
    let net = s.parse::<IpNet>().ok()?.trunc();
    // A full-length prefix is one address: matched by the exact table.
    if net.prefix_len() == net.max_prefix_len() {
        return Some(IndicatorValue::Addr(net.addr()));
    }
    Some(IndicatorValue::Net(net))
}

/// Normalises a domain: lower case, no trailing dot, no leading `*.`
/// (subdomains always match), IDNs converted to A-labels.
fn parse_domain(s: &str) -> Result<IndicatorValue, String> {
    if s.parse::<IpAddr>().is_ok() {
        return Err("an IP address, not a domain name".into());
    }
    let mut d = s.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = d.strip_prefix("*.") {
        d = rest.to_string();
    }
    // Checked before IDNA, which would otherwise report (or escape) a
    // character other than the one that is wrong.
    if let Some(c) = d
        .chars()
        .find(|c| c.is_ascii() && !is_name_char(*c) && *c != '.')
    {
        return Err(format!(
            "not an address, network or domain name (character `{c}`)"
        ));
    }
    if !d.is_ascii() {
        let name = hickory_proto::rr::Name::from_utf8(&d)
            .map_err(|e| format!("not a valid internationalised domain name: {e}"))?;
        d = name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    }
    if d.is_empty() {
        return Err("empty domain name".into());
    }
    if d.len() > 253 {
        return Err("domain name longer than 253 characters".into());
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err("empty label in domain name".into());
        }
        if label.len() > 63 {
            return Err("label longer than 63 characters".into());
        }
        if let Some(c) = label.chars().find(|c| !is_name_char(*c)) {
            return Err(format!(
                "not an address, network or domain name (character `{c}`)"
            ));
        }
    }
    // No top-level domain is numeric (RFC 3696 §2): numbers and dots are
    // an address written wrong, which as a domain would never match.
    if d.rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("looks like an IPv4 address but is not one".into());
    }
    Ok(IndicatorValue::Domain(d))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_style_csv_keeps_provenance() {
        let csv = "indicator,type,source,reference\n\
                   37.139.11.155,ipv4,CrowdStrike,ref-a\n\
                   ns1.Example.COM.,domain,Talos,ref-b\n";
        let f = parse_feed("feed.csv", csv).unwrap();
        assert_eq!(f.format, FeedFormat::Csv);
        assert_eq!(f.indicators.len(), 2);
        let d = &f.indicators[1];
        assert_eq!(d.value, IndicatorValue::Domain("ns1.example.com".into()));
        assert_eq!(d.source.as_deref(), Some("Talos"));
        assert_eq!(d.reference.as_deref(), Some("ref-b"));
        assert_eq!(d.line, 3);
        assert_eq!(&*d.feed, "feed.csv");
    }

    #[test]
    fn csv_columns_in_any_order_with_extra_metadata_and_skips() {
        let csv = "# exported 2019-01-24\nType,Comment,Indicator\n\
                   cidr,bad net,192.0.2.0/24\n\
                   url,,http://evil.example/x\n\
                   sha256,,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
                   ip,,2001:db8::1\n";
        let f = parse_feed("x.csv", csv).unwrap();
        assert_eq!(f.indicators.len(), 2);
        assert_eq!(f.skipped, 2);
        assert_eq!(
            f.indicators[0].meta,
            vec![("Comment".to_string(), "bad net".to_string())]
        );
        assert_eq!(f.indicators[1].kind, IndicatorType::Ipv6);
    }

    #[test]
    fn csv_lifecycle_columns() {
        let csv = "indicator,type,source,report_url,published,first_seen,last_seen,valid_until,confidence,note\n\
                   185.20.187.8,ipv4,CrowdStrike,https://r.example/a,2019-01-25 | 2018-11-27,,,,,x\n\
                   45.32.100.62,ipv4,Talos,,2019-04-17,2019-01-01,2019-03-01,2019-06-30T00:00:00Z,70,\n";
        let f = parse_feed("f.csv", csv).unwrap();
        let day = 86_400_000_000;
        let a = &f.indicators[0];
        assert_eq!(a.url.as_deref(), Some("https://r.example/a"));
        assert_eq!(a.lifecycle.seen, Some(17_921 * day), "latest report date");
        assert_eq!(a.lifecycle.confidence, None);
        assert_eq!(a.meta, vec![("note".to_string(), "x".to_string())]);
        let b = &f.indicators[1].lifecycle;
        assert_eq!(
            b.seen,
            Some(parse_time("2019-03-01").unwrap()),
            "last seen first"
        );
        assert_eq!(b.valid_until, Some(parse_time("2019-06-30").unwrap()));
        assert_eq!(b.confidence, Some(70));
        let e = parse_feed("f.csv", "indicator,type,valid_until\n1.2.3.4,ipv4,soon\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`soon` is not a date"), "{e}");
        let e = parse_feed("f.csv", "indicator,type,confidence\n1.2.3.4,ipv4,200\n").unwrap_err();
        assert!(e.message.contains("confidence `200`"), "{e}");
    }

    #[test]
    fn csv_errors_name_the_line() {
        let csv = "indicator,type\n1.2.3.4,ipv4\nnot-an-ip,ipv4\n";
        let e = parse_feed("f.csv", csv).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.to_string(), "f.csv:3: `not-an-ip` is not an IP address");
        let e = parse_feed("f.csv", "indicator,type\n1.2.3.4,banana\n").unwrap_err();
        assert_eq!(e.to_string(), "f.csv:2: unknown indicator type `banana`");
    }

    #[test]
    fn every_bad_line_is_found_in_one_reading() {
        let text = "192.0.2.1\nbad one\n300.1.2.3/99\nevil.example\nex$ample.com\n";
        let f = parse_feed_all("l.txt", text).unwrap();
        let lines: Vec<u64> = f.errors.clone().into_vec().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert_eq!(parse_feed("l.txt", text).unwrap_err().line, 2);
        let csv = "indicator,type\n1.2.3.4,banana\n,ipv4\n185.20.187.8,ipv4\nx,ipv4\n";
        let f = parse_feed_all("f.csv", csv).unwrap();
        let lines: Vec<u64> = f.errors.into_vec().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5]);
    }

    #[test]
    fn text_feed_detects_types_and_refangs() {
        let text = "# my list\n\n203.0.113.7\n198.51.100.0/24   # a net\nevil[.]example\n*.bad.example\n2001:db8::/128\n";
        let f = parse_feed("list.txt", text).unwrap();
        assert_eq!(f.format, FeedFormat::Text);
        let v: Vec<String> = f.indicators.iter().map(|i| i.text()).collect();
        assert_eq!(
            v,
            vec![
                "203.0.113.7",
                "198.51.100.0/24",
                "evil.example",
                "bad.example",
                "2001:db8::"
            ]
        );
        assert_eq!(f.indicators[3].line, 6);
    }

    #[test]
    fn text_errors_name_the_line() {
        let e = parse_feed("l.txt", "good.example\nbad domain here\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse_feed("l.txt", "ok.example\nexa$mple.com\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains('$'));
        let e = parse_feed("l.txt", &format!("{}.com\n", "a".repeat(64))).unwrap_err();
        assert!(e.message.contains("63"));
    }

    fn values(f: &FeedLoad) -> Vec<(IndicatorType, String)> {
        f.indicators.iter().map(|i| (i.kind, i.text())).collect()
    }

    /// A byte-order mark from an editor or an export is not part of the
    /// first indicator (or header).
    #[test]
    fn a_leading_bom_is_stripped() {
        let f = parse_feed("l.txt", "\u{feff}185.20.187.8\nevil.example\n").unwrap();
        assert_eq!(
            values(&f),
            [
                (IndicatorType::Ipv4, "185.20.187.8".to_string()),
                (IndicatorType::Domain, "evil.example".to_string())
            ]
        );
        let f = parse_feed("f.csv", "\u{feff}indicator,type\n185.20.187.8,ipv4\n").unwrap();
        assert_eq!(f.format, FeedFormat::Csv);
        assert_eq!(
            values(&f),
            [(IndicatorType::Ipv4, "185.20.187.8".to_string())]
        );
    }

    /// Invisible characters make an indicator that looks right and never
    /// matches: an error naming the line and the character.
    #[test]
    fn invisible_characters_in_an_indicator_are_errors() {
        let e = parse_feed("l.txt", "ok.example\n\u{200b}185.20.187.8\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "l.txt:2: `\\u{200b}185.20.187.8`: invisible or control character U+200B"
        );
        let e = parse_feed("l.txt", "mail.ex\u{200d}ample.com\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("U+200D"), "{e}");
        let e = parse_feed("f.csv", "indicator,type\nevil\u{2060}.example,domain\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("U+2060"), "{e}");
    }

    /// Leading zeros are octal to inet_aton and decimal to a person: read
    /// as decimal (and warned about, see `feed_warnings`), never a domain.
    #[test]
    fn zero_padded_octets_are_addresses() {
        let f = parse_feed("l.txt", "185.020.187.008\n010.001.002.000/24\n").unwrap();
        assert_eq!(
            values(&f),
            [
                (IndicatorType::Ipv4, "185.20.187.8".to_string()),
                (IndicatorType::Cidr, "10.1.2.0/24".to_string())
            ]
        );
        let f = parse_feed("f.csv", "indicator,type\n185.020.187.008,ipv4\n").unwrap();
        assert_eq!(
            values(&f),
            [(IndicatorType::Ipv4, "185.20.187.8".to_string())]
        );
    }

    #[test]
    fn feed_warnings() {
        let f = parse_feed("l.txt", "# list\n185.020.187.008\nevil.example\n").unwrap();
        let w: Vec<String> = f.warnings.iter().map(FileError::as_warning).collect();
        assert_eq!(
            w,
            [
                "l.txt:2: warning: `185.020.187.008` has zero-padded octets: read as 185.20.187.8 (decimal, not octal)"
            ]
        );
        let f = parse_feed(
            "z.dat",
            "#fields\tindicator\tindicator_type\n010.0.0.1\tIntel::ADDR\n",
        )
        .unwrap();
        assert_eq!(f.warnings[0].line, 2);
        assert_eq!(f.indicators[0].text(), "10.0.0.1");
    }

    /// A value made of numbers and dots is an address or an error: no
    /// top-level domain is numeric, so as a domain it could never match.
    #[test]
    fn an_ipv4_looking_value_is_never_a_domain() {
        for bad in [
            "185.20.187",
            "300.1.2.3",
            "1.2.3.4.5",
            "0x7f.0.0.1",
            "2130706433",
        ] {
            let e = parse_feed("l.txt", &format!("{bad}\n")).unwrap_err();
            assert!(
                e.message
                    .contains("looks like an IPv4 address but is not one"),
                "{bad}: {e}"
            );
        }
        assert!(parse_feed("l.txt", "123.example\n").is_ok());
    }

    /// U+3002, U+FF0E and U+FF61 are label separators (RFC 3490 §3.1), and
    /// an error names the character that is wrong, not an escape of one.
    #[test]
    fn ideographic_full_stops_separate_labels() {
        let f = parse_feed("l.txt", "evil\u{3002}example\nb\u{fc}cher\u{ff0e}example\n").unwrap();
        assert_eq!(
            values(&f),
            [
                (IndicatorType::Domain, "evil.example".to_string()),
                (IndicatorType::Domain, "xn--bcher-kva.example".to_string())
            ]
        );
        let e = parse_feed("l.txt", "ev$il\u{3002}example\n").unwrap_err();
        assert!(e.message.ends_with("(character `$`)"), "{e}");
        let e = parse_feed("l.txt", "a\u{3002}\u{3002}b\n").unwrap_err();
        assert!(e.message.ends_with("empty label in domain name"), "{e}");
    }

    #[test]
    fn idn_becomes_a_label() {
        let f = parse_feed("l.txt", "bücher.example\n").unwrap();
        assert_eq!(f.indicators[0].text(), "xn--bcher-kva.example");
    }
}

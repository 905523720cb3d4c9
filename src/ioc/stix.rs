//! STIX 2.1 bundles: indicator objects whose STIX pattern compares
//! `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value` or `url:value`
//! with `=` or `IN`, joined by `OR` inside one bracket or between brackets.
//! Anything else (another object path, `AND`, `MATCHES`, qualifiers, other
//! pattern languages) cannot be checked against a DNS answer: that indicator
//! is skipped and counted.
//!
//! The lifecycle is honoured: `revoked: true` is loaded as withdrawn (so it
//! also withdraws the same value from other feeds), `valid_from` and
//! `valid_until` bound when it matches, `confidence` goes with the alert,
//! the age counts from `modified` (else `created`), and the first
//! `external_references` URL is the report's address. A time that does not
//! parse in a machine-made bundle is left unset rather than losing the
//! bundle.

use std::sync::Arc;

use serde_json::Value;

use super::feed::{FeedFormat, FeedLoad, Typed, escaped, host_of_url, indicator, parse_typed};
use super::lifecycle::{Times, parse_time};
use crate::error::FileError;
use crate::model::{Lifecycle, Retraction};

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    LParen,
    RParen,
    Comma,
    Word(String),
    Str(String),
    Op(String),
}

/// Splits a pattern into tokens; `None` on anything malformed.
fn tokens(pattern: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' => {
                chars.next();
                out.push(Tok::Open);
            }
            ']' => {
                chars.next();
                out.push(Tok::Close);
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            ',' => {
                chars.next();
                out.push(Tok::Comma);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\\' => s.push(chars.next()?),
                        '\'' => break,
                        other => s.push(other),
                    }
                }
                out.push(Tok::Str(s));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, '=' | '!' | '<' | '>') {
                        op.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Op(op));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || "[]()=!<>,'".contains(c) {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                if w.is_empty() {
                    return None;
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Some(out)
}

/// The values a pattern names, as (object path, value); `None` when the
/// pattern holds anything this sensor cannot match on (then the whole
/// indicator is skipped: matching part of an AND would alert on less than
/// the indicator says).
fn pattern_values(pattern: &str) -> Option<Vec<(String, String)>> {
    let toks = tokens(pattern)?;
    let mut values = Vec::new();
    let mut i = 0;
    let at = |i: usize| toks.get(i);
    loop {
        if at(i) != Some(&Tok::Open) {
            return None;
        }
        i += 1;
        loop {
            let Some(Tok::Word(path)) = at(i) else {
                return None;
            };
            i += 1;
            match at(i) {
                Some(Tok::Op(op)) if op == "=" => {
                    let Some(Tok::Str(v)) = at(i + 1) else {
                        return None;
                    };
                    values.push((path.clone(), v.clone()));
                    i += 2;
                }
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN") => {
                    i += 1;
                    if at(i) != Some(&Tok::LParen) {
                        return None;
                    }
                    i += 1;
                    loop {
                        let Some(Tok::Str(v)) = at(i) else {
                            return None;
                        };
                        values.push((path.clone(), v.clone()));
                        i += 1;
                        match at(i) {
                            Some(Tok::Comma) => i += 1,
                            Some(Tok::RParen) => {
                                i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                _ => return None,
            }
            match at(i) {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("OR") => i += 1,
                Some(Tok::Close) => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
        match at(i) {
            None => return Some(values),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("OR") => i += 1,
            _ => return None,
        }
    }
}

fn value_of(path: &str, value: &str) -> Option<Typed> {
    match path {
        "ipv4-addr:value" | "ipv6-addr:value" => parse_typed(value, "ip").ok().flatten(),
        "domain-name:value" => parse_typed(value, "domain").ok().flatten(),
        "url:value" => host_of_url(value).map(|value| Typed {
            value,
            warning: None,
        }),
        _ => None,
    }
}

pub(super) fn parse(feed: &Arc<str>, json: &Value) -> Result<FeedLoad, FileError> {
    let objects = json
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| FileError {
            path: feed.to_string(),
            line: 1,
            message: "STIX bundle without an `objects` array".into(),
        })?;
    let mut out = FeedLoad::new(FeedFormat::Stix);
    for obj in objects {
        if obj.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let str_of = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let language = obj
            .get("pattern_type")
            .and_then(Value::as_str)
            .unwrap_or("stix");
        let values = match (language, str_of("pattern")) {
            ("stix", Some(p)) => pattern_values(&p),
            _ => None,
        };
        let Some(values) = values else {
            out.skipped += 1;
            continue;
        };
        let parsed: Option<Vec<Typed>> = values.iter().map(|(p, v)| value_of(p, v)).collect();
        let Some(parsed) = parsed else {
            out.skipped += 1;
            continue;
        };
        let source = str_of("name").or_else(|| str_of("created_by_ref"));
        let mut meta = Vec::new();
        if let Some(d) = str_of("description") {
            meta.push(("description".to_string(), d));
        }
        let lifecycle = lifecycle(obj);
        let url = obj
            .get("external_references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|r| r.get("url").and_then(Value::as_str))
            .map(|u| escaped(u.to_string()));
        for typed in parsed {
            // JSON bundles have no line per indicator.
            let v = out.accept(feed, 0, typed);
            let mut ind = indicator(v, feed, 0, source.clone(), str_of("id"), meta.clone());
            ind.url = url.clone();
            ind.lifecycle = lifecycle;
            out.indicators.push(ind);
        }
    }
    Ok(out)
}

fn lifecycle(obj: &Value) -> Lifecycle {
    let time = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .and_then(|t| parse_time(t).ok())
    };
    let mut l = Times {
        valid_from: time("valid_from"),
        valid_until: time("valid_until"),
        reported: time("modified").or_else(|| time("created")),
        confidence: obj
            .get("confidence")
            .and_then(Value::as_u64)
            .and_then(|c| u8::try_from(c).ok())
            .filter(|c| *c <= 100),
        ..Times::default()
    }
    .lifecycle();
    if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
        l.retracted = Some(Retraction::Revoked);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let v = pattern_values("[ipv4-addr:value = '198.51.100.1']").unwrap();
        assert_eq!(v, vec![("ipv4-addr:value".into(), "198.51.100.1".into())]);
        let v = pattern_values(
            "[domain-name:value = 'evil.example' OR ipv4-addr:value IN ('1.2.3.4', '5.6.7.0/24')] OR [url:value = 'http://x.test/a?b=\\'c\\'']",
        )
        .unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[3].1, "http://x.test/a?b='c'");
        assert!(
            pattern_values("[file:hashes.MD5 = 'ab']").is_some(),
            "parsed, then skipped by path"
        );
        assert!(value_of("file:hashes.MD5", "ab").is_none());
        assert!(
            pattern_values("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.b']").is_none()
        );
        assert!(pattern_values("[ipv4-addr:value MATCHES '1.*']").is_none());
        assert!(pattern_values("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS").is_none());
        assert!(pattern_values("[ipv4-addr:value = '1.2.3.4").is_none());
    }

    #[test]
    fn bundle() {
        let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
          {"type":"identity","id":"identity--1","name":"CISA"},
          {"type":"indicator","id":"indicator--a","name":"DNSpionage NS","pattern_type":"stix",
           "pattern":"[domain-name:value = 'ns1.rootdnservers.com']","description":"Sea Turtle"},
          {"type":"indicator","id":"indicator--b","pattern":"[ipv4-addr:value IN ('185.20.187.8','45.32.100.62')]"},
          {"type":"indicator","id":"indicator--c","pattern":"[url:value = 'https://82.196.8.43/x']"},
          {"type":"indicator","id":"indicator--d","pattern":"[file:hashes.MD5 = 'aa']"},
          {"type":"indicator","id":"indicator--e","pattern_type":"snort","pattern":"alert ip any any"}
        ]}"#;
        let json: Value = serde_json::from_str(bundle).unwrap();
        let load = parse(&"b.json".into(), &json).unwrap();
        let texts: Vec<String> = load.indicators.iter().map(|i| i.text()).collect();
        assert_eq!(
            texts,
            vec![
                "ns1.rootdnservers.com",
                "185.20.187.8",
                "45.32.100.62",
                "82.196.8.43"
            ]
        );
        assert_eq!(load.skipped, 2);
        assert_eq!(load.indicators[0].source.as_deref(), Some("DNSpionage NS"));
        assert_eq!(
            load.indicators[0].reference.as_deref(),
            Some("indicator--a")
        );
    }

    fn one(obj: &str) -> crate::model::Indicator {
        let bundle = format!(r#"{{"type":"bundle","id":"bundle--1","objects":[{obj}]}}"#);
        let json: Value = serde_json::from_str(&bundle).unwrap();
        let mut load = parse(&"b.json".into(), &json).unwrap();
        assert_eq!(load.indicators.len(), 1);
        load.indicators.remove(0)
    }

    fn at(date: &str) -> i64 {
        parse_time(date).unwrap()
    }

    #[test]
    fn revoked_indicators_load_withdrawn() {
        let ind = one(r#"{"type":"indicator","id":"indicator--r","revoked":true,
                "pattern":"[ipv4-addr:value = '185.20.187.8']","valid_from":"2019-01-25T00:00:00Z"}"#);
        assert_eq!(ind.lifecycle.retracted, Some(Retraction::Revoked));
        assert_eq!(
            ind.lifecycle.judge(at("2019-02-01"), 365),
            Err(crate::model::Ignored::Revoked)
        );
    }

    #[test]
    fn validity_window_and_confidence_judged_at_packet_time() {
        let ind = one(r#"{"type":"indicator","id":"indicator--v","confidence":85,
                "created":"2019-01-20T00:00:00Z","modified":"2019-01-25T00:00:00Z",
                "valid_from":"2019-01-25T00:00:00Z","valid_until":"2019-07-01T00:00:00Z",
                "external_references":[{"source_name":"CISA","url":"https://www.cisa.gov/aa19-024a"}],
                "pattern":"[domain-name:value = 'ns1.rootdnservers.com']"}"#);
        let l = ind.lifecycle;
        assert_eq!(l.confidence, Some(85));
        assert_eq!(ind.url.as_deref(), Some("https://www.cisa.gov/aa19-024a"));
        use crate::model::Ignored;
        assert_eq!(l.judge(at("2019-01-24"), 365), Err(Ignored::NotYetValid));
        assert_eq!(l.judge(at("2019-07-02"), 365), Err(Ignored::Expired));
        let standing = l.judge(at("2019-02-04"), 365).unwrap();
        assert_eq!(standing.age_days, Some(10), "from `modified`");
        assert!(!standing.stale);
    }
}

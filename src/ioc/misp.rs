//! MISP JSON event exports: `{"Event": {...}}`, a list of them, or the
//! REST search shape `{"response": [{"Event": ...}]}`. Attributes of types
//! ip-dst, ip-src, domain, hostname and domain|ip (and the `|port`
//! variants) become indicators, those inside MISP objects too; the event's
//! `info` is their source and the attribute's UUID their reference. Other
//! attribute types are skipped and counted.
//!
//! The lifecycle is honoured: a `deleted` attribute, one with `to_ids`
//! false (context, not for detection) and any attribute of an event whose
//! `published` is false (a draft) load but never alert; the age counts
//! from the attribute's `last_seen`, else the latest of its `first_seen`,
//! its `timestamp` and the event's `date`.

use std::sync::Arc;

use serde_json::Value;

use super::feed::{FeedFormat, FeedLoad, indicator, parse_typed};
use super::lifecycle::{Times, parse_time};
use crate::error::FileError;
use crate::model::{Lifecycle, Retraction};

/// A MISP boolean: JSON `true`/`false`, or the `"1"`/`"0"` strings older
/// exports write.
fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        _ => None,
    }
}

fn time(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => parse_time(s).ok(),
        Value::Number(n) => n.as_i64().and_then(|n| parse_time(&n.to_string()).ok()),
        _ => None,
    }
}

fn lifecycle(event: &Value, attr: &Value) -> Lifecycle {
    let reported = match (time(attr, "timestamp"), time(event, "date")) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let mut l = Times {
        first_seen: time(attr, "first_seen"),
        last_seen: time(attr, "last_seen"),
        reported,
        ..Times::default()
    }
    .lifecycle();
    l.retracted = if flag(attr, "deleted") == Some(true) {
        Some(Retraction::Deleted)
    } else if flag(attr, "to_ids") == Some(false) {
        Some(Retraction::NotForIds)
    } else if flag(event, "published") == Some(false) {
        Some(Retraction::Unpublished)
    } else {
        None
    };
    l
}

/// Events of one level: `{"Event": ..}` or a list of them.
fn wrapped(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().filter_map(|i| i.get("Event")).collect(),
        other => other.get("Event").into_iter().collect(),
    }
}

/// Events anywhere in the accepted shapes.
fn events(json: &Value) -> Vec<&Value> {
    match json.get("response") {
        Some(resp) => wrapped(resp),
        None => wrapped(json),
    }
}

pub(super) fn is_misp(json: &Value) -> bool {
    !events(json).is_empty()
}

pub(super) fn parse(feed: &Arc<str>, json: &Value) -> Result<FeedLoad, FileError> {
    let mut out = FeedLoad::new(FeedFormat::Misp);
    for event in events(json) {
        let info = event
            .get("info")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut attributes: Vec<&Value> = event
            .get("Attribute")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for obj in event
            .get("Object")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            attributes.extend(
                obj.get("Attribute")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        }
        for attr in attributes {
            let s = |k: &str| attr.get(k).and_then(Value::as_str).unwrap_or_default();
            let (typ, value) = (s("type"), s("value"));
            let parts: Vec<(&str, &str)> = match typ {
                "ip-dst" | "ip-src" => vec![("ip", value)],
                "ip-dst|port" | "ip-src|port" => {
                    vec![("ip", value.split('|').next().unwrap_or_default())]
                }
                "domain" | "hostname" => vec![("domain", value)],
                "hostname|port" => vec![("domain", value.split('|').next().unwrap_or_default())],
                "domain|ip" => match value.split_once('|') {
                    Some((d, ip)) => vec![("domain", d), ("ip", ip)],
                    None => vec![],
                },
                _ => vec![],
            };
            if parts.is_empty() {
                out.skipped += 1;
                continue;
            }
            let reference = attr.get("uuid").and_then(Value::as_str).map(str::to_string);
            let lifecycle = lifecycle(event, attr);
            let mut meta = Vec::new();
            for key in ["category", "comment"] {
                let v = s(key);
                if !v.is_empty() {
                    meta.push((key.to_string(), v.to_string()));
                }
            }
            for (kind, v) in parts {
                match parse_typed(v, kind) {
                    Ok(Some(typed)) => {
                        // JSON exports have no line per attribute.
                        let value = out.accept(feed, 0, typed);
                        let mut ind = indicator(
                            value,
                            feed,
                            0,
                            info.clone(),
                            reference.clone(),
                            meta.clone(),
                        );
                        ind.lifecycle = lifecycle;
                        out.indicators.push(ind);
                    }
                    // A value that does not parse as its declared type in a
                    // machine-made export is the exporter's bug, not a
                    // reason to lose the rest of the feed.
                    _ => out.skipped += 1,
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_export_with_objects() {
        let text = r#"{"Event":{"info":"Sea Turtle infrastructure","uuid":"e-1",
          "Attribute":[
            {"type":"ip-dst","value":"45.32.100.62","uuid":"a-1","category":"Network activity"},
            {"type":"domain|ip","value":"ns1.lcjcomputing.com|95.179.150.101","uuid":"a-2"},
            {"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","uuid":"a-3"},
            {"type":"ip-src|port","value":"185.20.187.8|53","uuid":"a-4"}],
          "Object":[{"name":"domain-ip","Attribute":[{"type":"hostname","value":"ns2.rootdnservers.com","uuid":"a-5"}]}]}}"#;
        let json: Value = serde_json::from_str(text).unwrap();
        assert!(is_misp(&json));
        let load = parse(&"m.json".into(), &json).unwrap();
        let texts: Vec<String> = load.indicators.iter().map(|i| i.text()).collect();
        assert_eq!(
            texts,
            vec![
                "45.32.100.62",
                "ns1.lcjcomputing.com",
                "95.179.150.101",
                "185.20.187.8",
                "ns2.rootdnservers.com"
            ]
        );
        assert_eq!(load.skipped, 1);
        assert_eq!(
            load.indicators[0].source.as_deref(),
            Some("Sea Turtle infrastructure")
        );
        assert_eq!(load.indicators[0].reference.as_deref(), Some("a-1"));
        let rest: Value = serde_json::from_str(&format!("{{\"response\":[{text}]}}")).unwrap();
        assert_eq!(parse(&"m.json".into(), &rest).unwrap().indicators.len(), 5);
    }

    #[test]
    fn deleted_not_for_ids_and_unpublished_never_alert() {
        let text = r#"{"Event":{"info":"e","published":true,"date":"2019-01-25","Attribute":[
            {"type":"ip-dst","value":"192.0.2.1","uuid":"a-1","to_ids":true,"timestamp":"1548374400"},
            {"type":"ip-dst","value":"192.0.2.2","uuid":"a-2","to_ids":false},
            {"type":"ip-dst","value":"192.0.2.3","uuid":"a-3","to_ids":true,"deleted":true},
            {"type":"domain","value":"evil.example","uuid":"a-4","to_ids":"1",
             "first_seen":"2018-11-27T00:00:00.000000+00:00","last_seen":"2019-01-20T00:00:00.000000+00:00"}]}}"#;
        let json: Value = serde_json::from_str(text).unwrap();
        let load = parse(&"m.json".into(), &json).unwrap();
        let retracted: Vec<Option<Retraction>> = load
            .indicators
            .iter()
            .map(|i| i.lifecycle.retracted)
            .collect();
        assert_eq!(
            retracted,
            vec![
                None,
                Some(Retraction::NotForIds),
                Some(Retraction::Deleted),
                None
            ]
        );
        let packet = parse_time("2019-02-04").unwrap();
        let age = |i: usize| {
            load.indicators[i]
                .lifecycle
                .judge(packet, 365)
                .unwrap()
                .age_days
        };
        assert_eq!(age(0), Some(10), "attribute timestamp or event date");
        assert_eq!(age(3), Some(15), "last_seen first");
        let draft = text.replace(r#""published":true"#, r#""published":false"#);
        let json: Value = serde_json::from_str(&draft).unwrap();
        let load = parse(&"m.json".into(), &json).unwrap();
        assert_eq!(
            load.indicators[0].lifecycle.judge(packet, 365),
            Err(crate::model::Ignored::Unpublished)
        );
    }
}

//! Zeek intel files (`#fields indicator indicator_type meta.source ...`,
//! tab-separated), so existing Zeek feeds work unchanged. Intel::ADDR,
//! Intel::SUBNET and Intel::DOMAIN become indicators, Intel::URL its host;
//! other types are skipped and counted. `meta.source` is the source,
//! `meta.url` (or `meta.desc`) the reference; `-` is an empty field.
//! `meta.first_seen`, `meta.last_seen`, `meta.valid_from`,
//! `meta.valid_until` and `meta.confidence` are the lifecycle, as the CSV
//! columns of the same names; `meta.url` is also the report's address.

use std::sync::Arc;

use super::feed::{FeedFormat, FeedLoad, Typed, escaped, host_of_url, indicator, parse_typed};
use super::lifecycle::{Times, parse_confidence, parse_time};
use crate::error::FileError;

/// `meta.*` fields read as the lifecycle rather than kept as metadata.
const LIFECYCLE_FIELDS: [&str; 5] = [
    "meta.first_seen",
    "meta.last_seen",
    "meta.valid_from",
    "meta.valid_until",
    "meta.confidence",
];

pub(super) fn is_zeek_intel(first_line: &str) -> bool {
    let mut f = first_line.split('\t');
    f.next() == Some("#fields")
        && f.clone().any(|c| c == "indicator")
        && f.any(|c| c == "indicator_type")
}

pub(super) fn parse(feed: &Arc<str>, text: &str) -> Result<FeedLoad, FileError> {
    let err = |line: u64, message: String| FileError {
        path: feed.to_string(),
        line,
        message,
    };
    let mut out = FeedLoad::new(FeedFormat::ZeekIntel);
    let mut fields: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if let Some(rest) = line.strip_prefix("#fields\t") {
            fields = rest.split('\t').collect();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let col = |name: &str| {
            fields
                .iter()
                .position(|f| *f == name)
                .and_then(|i| cols.get(i).copied())
                .filter(|v| !v.is_empty() && *v != "-")
        };
        let (Some(value), Some(typ)) = (col("indicator"), col("indicator_type")) else {
            out.errors.push(err(
                n,
                "line without an indicator and an indicator_type".into(),
            ));
            continue;
        };
        let typed = match typ {
            "Intel::ADDR" => parse_typed(value, "ip"),
            "Intel::SUBNET" => parse_typed(value, "cidr"),
            "Intel::DOMAIN" => parse_typed(value, "domain"),
            "Intel::URL" => Ok(host_of_url(value).map(|value| Typed {
                value,
                warning: None,
            })),
            _ => Ok(None),
        };
        let parsed = match typed {
            Ok(t) => t.map(|t| out.accept(feed, n, t)),
            Err(m) => {
                out.errors.push(err(n, m));
                continue;
            }
        };
        let Some(parsed) = parsed else {
            out.skipped += 1;
            continue;
        };
        let time = |name: &str| col(name).map(parse_time).transpose();
        let times = (|| {
            Ok::<_, String>(Times {
                valid_from: time("meta.valid_from")?,
                valid_until: time("meta.valid_until")?,
                first_seen: time("meta.first_seen")?,
                last_seen: time("meta.last_seen")?,
                reported: None,
                confidence: col("meta.confidence").map(parse_confidence).transpose()?,
            })
        })();
        let times = match times {
            Ok(t) => t,
            Err(m) => {
                out.errors.push(err(n, m));
                continue;
            }
        };
        let source = col("meta.source").map(str::to_string);
        let reference = col("meta.url")
            .or_else(|| col("meta.desc"))
            .map(str::to_string);
        let meta = fields
            .iter()
            .zip(cols.iter())
            .filter(|(f, v)| {
                f.starts_with("meta.")
                    && !matches!(**f, "meta.source" | "meta.url")
                    && !LIFECYCLE_FIELDS.contains(*f)
                    && **v != "-"
            })
            .map(|(f, v)| (f.trim_start_matches("meta.").to_string(), v.to_string()))
            .collect();
        let mut ind = indicator(parsed, feed, n, source, reference, meta);
        ind.url = col("meta.url").map(|u| escaped(u.to_string()));
        ind.lifecycle = times.lifecycle();
        out.indicators.push(ind);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_intel_file() {
        let text = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n\
                    185.20.187.8\tIntel::ADDR\tCISA AA19-024A\t-\n\
                    cloudnamedns.com\tIntel::DOMAIN\tCrowdStrike\tactor NS\n\
                    203.0.113.0/24\tIntel::SUBNET\tlocal\t-\n\
                    http://evil.test/x\tIntel::URL\tlocal\t-\n\
                    d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tlocal\t-\n";
        assert!(is_zeek_intel(text.lines().next().unwrap()));
        let load = parse(&"intel.dat".into(), text).unwrap();
        let texts: Vec<String> = load.indicators.iter().map(|i| i.text()).collect();
        assert_eq!(
            texts,
            vec![
                "185.20.187.8",
                "cloudnamedns.com",
                "203.0.113.0/24",
                "evil.test"
            ]
        );
        assert_eq!(load.skipped, 1);
        assert_eq!(load.indicators[1].reference.as_deref(), Some("actor NS"));
        assert_eq!(load.indicators[0].line, 2);
        let bad = "#fields\tindicator\tindicator_type\n1.2.3.999\tIntel::ADDR\n\
                   185.20.187.8\tIntel::ADDR\nonly-one-column\n";
        let errors = parse(&"i".into(), bad).unwrap().errors.into_vec();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4], "every bad line");
    }

    #[test]
    fn zeek_lifecycle_fields() {
        let text = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.url\tmeta.last_seen\tmeta.valid_until\tmeta.confidence\tmeta.do_notice\n\
                    185.20.187.8\tIntel::ADDR\tCISA\thttps://r.example/a\t2019-01-25\t2019-12-31\t90\tT\n\
                    evil.example\tIntel::DOMAIN\tlocal\t-\t-\t-\t-\tF\n";
        let load = parse(&"intel.dat".into(), text).unwrap();
        let a = &load.indicators[0];
        assert_eq!(a.url.as_deref(), Some("https://r.example/a"));
        assert_eq!(a.lifecycle.seen, Some(parse_time("2019-01-25").unwrap()));
        assert_eq!(
            a.lifecycle.valid_until,
            Some(parse_time("2019-12-31").unwrap())
        );
        assert_eq!(a.lifecycle.confidence, Some(90));
        assert_eq!(a.meta, vec![("do_notice".to_string(), "T".to_string())]);
        assert_eq!(
            load.indicators[1].lifecycle,
            crate::model::Lifecycle::default()
        );
        let bad =
            "#fields\tindicator\tindicator_type\tmeta.valid_until\n1.2.3.4\tIntel::ADDR\tnever\n";
        let errors = parse(&"i".into(), bad).unwrap().errors.into_vec();
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("`never`"), "{}", errors[0]);
    }
}

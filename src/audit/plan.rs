//! What the audit asks about each monitored zone, and whom: read from the
//! expect file (its zones, overrides, expected name servers, mail
//! exchanges and aliases) and the names given on the command line.

use std::net::IpAddr;

use super::client::Question;
use super::delegation::{at_or_under, folded};
use crate::expect::{ExpectedZones, NamePolicy, Policy, ZonePolicy};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_MX: u16 = 15;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_DS: u16 = 43;
pub const TYPE_DNSKEY: u16 = 48;

/// One monitored zone's audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZonePlan {
    /// Folded.
    pub zone: String,
    /// Asked of each of the parent's servers: the delegation and its DS.
    pub parent: Vec<Question>,
    /// Asked of each authoritative server.
    pub authoritative: Vec<Question>,
    /// Name servers the expect file lists for the zone (folded).
    pub expected_ns: Vec<String>,
    /// Single addresses the expect file lists as the name servers'.
    pub expected_ns_addresses: Vec<IpAddr>,
}

/// One plan per monitored zone, in name order; `extra` names (folded)
/// join the zone they fall in.
pub fn plans(zones: &ExpectedZones, extra: &[String]) -> Vec<ZonePlan> {
    let mut out: Vec<ZonePlan> = zones.zones().map(|z| plan(zones, z, extra)).collect();
    out.sort_by(|a, b| a.zone.cmp(&b.zone));
    out
}

fn plan(zones: &ExpectedZones, z: &ZonePolicy, extra: &[String]) -> ZonePlan {
    let zone = folded(&z.name);
    let ask = |name: &str, qtype: u16| Question {
        name: name.to_string(),
        qtype,
        recurse: false,
    };
    // Names of this zone, not of a more specific monitored zone inside it
    // (that one is audited at its own servers).
    let own = |n: &String| {
        at_or_under(n, &zone)
            && zones
                .zone_for(n)
                .is_some_and(|found| folded(&found.name) == zone)
    };
    let mut names = vec![zone.clone()];
    let mut add = |n: String| {
        if own(&n) && !names.contains(&n) {
            names.push(n);
        }
    };
    for policy in std::iter::once(&z.policy).chain(z.overrides.iter().map(|o| &o.policy)) {
        for n in listed_names(policy) {
            add(n);
        }
    }
    for o in &z.overrides {
        add(folded(&o.name));
    }
    for n in extra {
        add(folded(n));
    }
    let mut authoritative = vec![
        ask(&zone, TYPE_SOA),
        ask(&zone, TYPE_NS),
        ask(&zone, TYPE_MX),
    ];
    // A signed zone's keys, which every signature is checked against.
    if z.dnssec {
        authoritative.push(ask(&zone, TYPE_DNSKEY));
    }
    for (i, n) in names.iter().enumerate() {
        authoritative.push(ask(n, TYPE_A));
        authoritative.push(ask(n, TYPE_AAAA));
        // An apex cannot be an alias.
        if i > 0 {
            authoritative.push(ask(n, TYPE_CNAME));
        }
    }
    ZonePlan {
        parent: vec![ask(&zone, TYPE_NS), ask(&zone, TYPE_DS)],
        authoritative,
        expected_ns: z.policy.ns.as_ref().map(exact_names).unwrap_or_default(),
        expected_ns_addresses: z
            .policy
            .ns_addresses
            .as_ref()
            .map(|p| p.listed.iter().filter_map(|s| single_address(s)).collect())
            .unwrap_or_default(),
        zone,
    }
}

/// The exact names (not `*.` patterns) a policy lists as targets: name
/// servers, mail exchanges and aliases, whose own records the zone may
/// hold.
fn listed_names(p: &Policy) -> Vec<String> {
    [&p.ns, &p.mx, &p.cname]
        .into_iter()
        .flatten()
        .flat_map(exact_names)
        .collect()
}

fn exact_names(p: &NamePolicy) -> Vec<String> {
    p.listed
        .iter()
        .filter(|n| !n.starts_with("*."))
        .map(|n| folded(n))
        .collect()
}

/// `192.0.2.53`, `192.0.2.53/32` or `2001:db8::53/128`: one address; a
/// wider network names no server.
fn single_address(s: &str) -> Option<IpAddr> {
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    let net: ipnet::IpNet = s.parse().ok()?;
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::parse_expect;

    #[test]
    fn each_zone_is_asked_for_its_apex_and_every_name_it_lists() {
        let zones = parse_expect(
            "z.toml",
            r#"
[[zone]]
name = "Example.ORG."
ns = ["ns1.example.org", "ns.provider.test"]
mx = ["mail.example.org"]
cname = ["*.cdn.test"]
ns_addresses = ["192.0.2.53", "198.51.100.0/24", "2001:db8::53/128"]
[[zone.override]]
name = "shop.example.org"
cname = ["shops.saas.test"]
[[zone]]
name = "sub.example.org"
a = ["192.0.2.0/24"]
"#,
        )
        .unwrap();
        let extra = vec!["www.example.org".to_string(), "x.sub.example.org".into()];
        let p = plans(&zones, &extra);
        assert_eq!(p.len(), 2);
        let org = &p[0];
        assert_eq!(org.zone, "example.org");
        let asked: Vec<String> = org
            .authoritative
            .iter()
            .map(|q| format!("{} {}", q.name, q.qtype))
            .collect();
        assert_eq!(
            asked,
            [
                "example.org 6",
                "example.org 2",
                "example.org 15",
                "example.org 1",
                "example.org 28",
                "ns1.example.org 1",
                "ns1.example.org 28",
                "ns1.example.org 5",
                "mail.example.org 1",
                "mail.example.org 28",
                "mail.example.org 5",
                "shop.example.org 1",
                "shop.example.org 28",
                "shop.example.org 5",
                "www.example.org 1",
                "www.example.org 28",
                "www.example.org 5",
            ]
        );
        assert!(org.authoritative.iter().all(|q| !q.recurse));
        assert_eq!(org.parent.len(), 2);
        assert_eq!(org.expected_ns, ["ns1.example.org", "ns.provider.test"]);
        assert_eq!(
            org.expected_ns_addresses,
            [
                "192.0.2.53".parse::<IpAddr>().unwrap(),
                "2001:db8::53".parse().unwrap()
            ]
        );
        // A name of the nested zone is asked of the nested zone's servers.
        let sub = &p[1];
        assert!(
            sub.authoritative
                .iter()
                .any(|q| q.name == "x.sub.example.org")
        );
        assert!(!org.authoritative.iter().any(|q| q.name.contains("sub")));
    }
}

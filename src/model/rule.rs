//! The rule catalogue: what each kind of alert and sensor event is, in the
//! terms a SIEM's content already speaks: a stable numeric id and revision
//! (Suricata's `signature_id`/`rev`, ECS `rule.id`/`rule.version`, CEF's
//! signature id), a name, a category, a numeric severity, the MITRE
//! ATT&CK techniques, references and what to do about it.
//!
//! Every output format reads these same fields, so a rule means the same
//! thing whichever format a SIEM takes. Ids are never reused or renumbered:
//! a changed meaning gets a new `rev`, a new kind a new id (README, "Rule
//! catalogue").

use super::{AlertKind, Severity};

/// The CISA alert every detection rule refers to.
pub const CISA_AA19_024A: &str =
    "https://www.cisa.gov/news-events/alerts/2019/01/24/dns-infrastructure-hijacking-campaign";

/// Suricata's generator id of ordinary rules: dnsentry's ids live in the
/// range Suricata leaves to local rules (9,000,000 and up).
pub const GID: u32 = 1;

/// An ATT&CK technique as the ATT&CK site names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Technique {
    pub id: &'static str,
    pub name: &'static str,
    /// The tactic(s) ATT&CK files the technique under, as (id, name).
    pub tactics: &'static [(&'static str, &'static str)],
}

const RESOURCE_DEVELOPMENT: (&str, &str) = ("TA0042", "Resource Development");
const CREDENTIAL_ACCESS: (&str, &str) = ("TA0006", "Credential Access");
const COLLECTION: (&str, &str) = ("TA0009", "Collection");

/// A zone's records were changed where they are served.
pub const DNS_SERVER: Technique = Technique {
    id: "T1584.002",
    name: "Compromise Infrastructure: DNS Server",
    tactics: &[RESOURCE_DEVELOPMENT],
};
/// A domain's registration (its delegation) was changed.
pub const DOMAINS: Technique = Technique {
    id: "T1584.001",
    name: "Compromise Infrastructure: Domains",
    tactics: &[RESOURCE_DEVELOPMENT],
};
/// Someone on the path answers in the real server's place.
pub const ADVERSARY_IN_THE_MIDDLE: Technique = Technique {
    id: "T1557",
    name: "Adversary-in-the-Middle",
    tactics: &[CREDENTIAL_ACCESS, COLLECTION],
};

/// What a rule is about, for the catalogue's lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    Alert(AlertKind),
    SensorHealth,
    CaptureLoss,
    CaptureStalled,
    AuditFailed,
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable id: 9,000,001.. for detections, 9,000,101.. for events about
    /// the sensor itself.
    pub id: u32,
    pub rev: u32,
    /// The `kind` of the alert or event.
    pub kind: &'static str,
    /// A fixed title (Suricata's `signature`, the rule's `msg`).
    pub name: &'static str,
    pub category: &'static str,
    /// What raises it, in one sentence (ECS `rule.description`).
    pub description: &'static str,
    /// 0 (information) to 10 (critical), CEF's scale: 8 for `high`, 5 for
    /// `medium`, 3 for `low` and information.
    pub severity: u8,
    pub attack: &'static [Technique],
    /// Fixed references; an IOC alert adds its indicator's own.
    pub references: &'static [&'static str],
    /// What to do, drawn from the advisory's four mitigations: audit DNS
    /// records, change DNS account passwords, add multi-factor
    /// authentication, monitor Certificate Transparency logs.
    pub remediation: &'static str,
}

impl Rule {
    /// Suricata's 1 (high) .. 3 (low) from the 0..10 scale.
    pub fn eve_severity(&self) -> u8 {
        match self.severity {
            7.. => 1,
            4..=6 => 2,
            _ => 3,
        }
    }
}

/// Severity number of a detection severity.
pub const fn severity_number(s: Severity) -> u8 {
    match s {
        Severity::High => 8,
        Severity::Medium => 5,
        Severity::Low => 3,
    }
}

const INFO: u8 = 3;

const AUDIT_RECORD: &str = "Audit the record at your DNS provider and registrar. If the change \
     was not yours, restore it, change the passwords of every account that can edit DNS, add \
     multi-factor authentication to them, and search Certificate Transparency logs for \
     certificates issued for the name since the change. If it was yours, update the expect file.";

/// Every rule, detections in [`AlertKind::ALL`] order, then the sensor's.
pub const CATALOGUE: [Rule; 17] = [
    Rule {
        id: 9_000_001,
        rev: 1,
        kind: "ioc_address",
        name: "DNSENTRY DNS answer points at known DNS-hijacking infrastructure (address)",
        category: "Known attacker infrastructure",
        description: "An A or AAAA record in any section of a DNS response is an address, or lies in a network, listed by an IOC feed.",
        severity: severity_number(Severity::High),
        attack: &[DNS_SERVER, ADVERSARY_IN_THE_MIDDLE],
        references: &[CISA_AA19_024A],
        remediation: "Audit the name's records at your DNS provider and registrar and restore \
            them; change the passwords of every account that can edit DNS and add multi-factor \
            authentication to them; search Certificate Transparency logs for certificates issued \
            for the name, and treat credentials sent to it since the change as stolen.",
    },
    Rule {
        id: 9_000_002,
        rev: 1,
        kind: "ioc_domain",
        name: "DNSENTRY DNS answer names a known DNS-hijacking domain",
        category: "Known attacker infrastructure",
        description: "The query name, an owner name, or a name in record data (CNAME, NS, MX, PTR, SRV target, SOA primary) of a DNS response is a domain listed by an IOC feed, or under one.",
        severity: severity_number(Severity::High),
        attack: &[DNS_SERVER, DOMAINS],
        references: &[CISA_AA19_024A],
        remediation: "Audit the name's records and delegation at your DNS provider and \
            registrar and restore them; change the passwords of every account that can edit DNS \
            and add multi-factor authentication to them; search Certificate Transparency logs \
            for certificates issued for the name.",
    },
    Rule {
        id: 9_000_003,
        rev: 1,
        kind: "unexpected_address",
        name: "DNSENTRY Monitored name answered with an unexpected address",
        category: "DNS record change",
        description: "An A or AAAA record owned by a monitored name is outside the zone's expected addresses.",
        severity: severity_number(Severity::Medium),
        attack: &[DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: AUDIT_RECORD,
    },
    Rule {
        id: 9_000_004,
        rev: 1,
        kind: "unexpected_ns",
        name: "DNSENTRY Monitored zone delegated to unexpected name servers",
        category: "DNS delegation change",
        description: "An NS record of a monitored zone, in an answer or a referral, names a server outside the zone's expected name servers.",
        severity: severity_number(Severity::High),
        attack: &[DOMAINS, DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: "Compare the zone's NS records at the registrar and registry with your \
            own; if they moved, restore them, change the registrar and DNS account passwords, \
            add multi-factor authentication, and search Certificate Transparency logs for \
            certificates issued for names in the zone.",
    },
    Rule {
        id: 9_000_005,
        rev: 1,
        kind: "unexpected_ns_address",
        name: "DNSENTRY Name server of a monitored zone has unexpected glue",
        category: "DNS delegation change",
        description: "The glue a response gives a monitored zone's name server is outside the zone's expected name server addresses.",
        severity: severity_number(Severity::High),
        attack: &[DOMAINS, DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: "Compare the glue (name server addresses) at the registry with your own; \
            if it moved, restore it, change the registrar and DNS account passwords, add \
            multi-factor authentication, and search Certificate Transparency logs for \
            certificates issued for names in the zone.",
    },
    Rule {
        id: 9_000_006,
        rev: 1,
        kind: "unexpected_mx",
        name: "DNSENTRY Monitored zone names an unexpected mail exchange",
        category: "DNS record change",
        description: "An MX record of a monitored zone names a mail exchange outside the zone's expected ones.",
        severity: severity_number(Severity::Medium),
        attack: &[DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: AUDIT_RECORD,
    },
    Rule {
        id: 9_000_007,
        rev: 1,
        kind: "unexpected_cname",
        name: "DNSENTRY Monitored name is an alias of an unexpected target",
        category: "DNS record change",
        description: "A CNAME record of a monitored name points outside the zone's allowed targets.",
        severity: severity_number(Severity::Medium),
        attack: &[DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: AUDIT_RECORD,
    },
    Rule {
        id: 9_000_008,
        rev: 1,
        kind: "low_ttl",
        name: "DNSENTRY Monitored record served with a lowered TTL",
        category: "DNS record change",
        description: "A monitored A, AAAA, NS, MX or CNAME record came with a TTL below the zone's minimum.",
        severity: severity_number(Severity::Medium),
        attack: &[DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: "Audit the zone's recent changes at your DNS provider: a lowered TTL often \
            comes before a record is switched. Find who changed it, and make sure every DNS \
            account has a new password and multi-factor authentication if it was not you.",
    },
    Rule {
        id: 9_000_009,
        rev: 1,
        kind: "unexpected_resolver",
        name: "DNSENTRY Unexpected server answered for a monitored name",
        category: "Forged or stripped DNS answer",
        description: "A server outside the zone's expected resolvers answered for a monitored name.",
        severity: severity_number(Severity::High),
        attack: &[ADVERSARY_IN_THE_MIDDLE],
        references: &[CISA_AA19_024A],
        remediation: "Find the host that answered and why clients reach it; audit what it \
            answered against your zone's records and search Certificate Transparency logs for \
            certificates issued for the name.",
    },
    Rule {
        id: 9_000_010,
        rev: 1,
        kind: "dnssec_missing",
        name: "DNSENTRY Signed zone answered without its DNSSEC records",
        category: "Forged or stripped DNS answer",
        description: "A signed zone's answer came without its RRSIG, or a referral to it without its DS, although the query asked for DNSSEC.",
        severity: severity_number(Severity::High),
        attack: &[ADVERSARY_IN_THE_MIDDLE, DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: "Check that the zone's DS record is still at the registry and its DNSKEY \
            and signatures at the DNS provider (removing the DS is how a hijacker turns DNSSEC \
            off); audit the delegation, change the DNS account passwords and add multi-factor \
            authentication.",
    },
    Rule {
        id: 9_000_011,
        rev: 1,
        kind: "conflicting_response",
        name: "DNSENTRY Two different answers raced to one DNS query",
        category: "Forged or stripped DNS answer",
        description: "Two UDP responses to one query (client, port, transaction id, name) within 2 s said different things.",
        severity: severity_number(Severity::High),
        attack: &[ADVERSARY_IN_THE_MIDDLE],
        references: &[CISA_AA19_024A],
        remediation: "Find the injector on the path between client and server (a changed IP \
            TTL tells its distance); audit the records the forged answer named and search \
            Certificate Transparency logs for certificates issued for the name.",
    },
    Rule {
        id: 9_000_012,
        rev: 1,
        kind: "dnssec_invalid",
        name: "DNSENTRY Signed zone answered with a signature that does not validate",
        category: "Forged or stripped DNS answer",
        description: "An audited answer of a signed zone carried an RRSIG that does not validate against the zone's DNSKEY, or a DNSKEY set no DS at the parent vouches for.",
        severity: severity_number(Severity::High),
        attack: &[ADVERSARY_IN_THE_MIDDLE, DNS_SERVER],
        references: &[CISA_AA19_024A],
        remediation: "Compare the record with the one you published: a record changed outside \
            the signing process (at the DNS provider, or by someone who took its account) keeps \
            its old signature. Re-sign from a known-good zone, check the DS at the registry, \
            change the DNS account passwords and add multi-factor authentication.",
    },
    Rule {
        id: 9_000_013,
        rev: 1,
        kind: "inconsistent_servers",
        name: "DNSENTRY Servers of a zone give different answers",
        category: "DNS record change",
        description: "Audited servers of one zone answered one question differently: authoritative servers with different SOA serials or records, or a resolver with an answer no authoritative server gave.",
        severity: severity_number(Severity::Medium),
        attack: &[DNS_SERVER, ADVERSARY_IN_THE_MIDDLE],
        references: &[CISA_AA19_024A],
        remediation: "Find which server is right: a secondary that stopped transferring \
            serves an old zone, one that serves records nobody published was changed by \
            someone else, and a resolver that answers what no authoritative server says is \
            poisoned or intercepted. Fix the server, then audit again.",
    },
    Rule {
        id: 9_000_101,
        rev: 1,
        kind: "sensor_health",
        name: "DNSENTRY Sensor health",
        category: "Sensor health",
        description: "Periodic report of the sensor's capture, decoding and output counters.",
        severity: INFO,
        attack: &[],
        references: &[],
        remediation: "None: periodic report.",
    },
    Rule {
        id: 9_000_102,
        rev: 1,
        kind: "capture_loss",
        name: "DNSENTRY Sensor losing packets",
        category: "Sensor blindness",
        description: "The share of packets dropped on an interface in the interval is above the loss threshold.",
        severity: severity_number(Severity::High),
        attack: &[],
        references: &[],
        remediation: "Check the span port, the capture buffer (--buffer-mb) and the sensor's \
            load: detections may be missing for the interval.",
    },
    Rule {
        id: 9_000_103,
        rev: 1,
        kind: "capture_stalled",
        name: "DNSENTRY Sensor sees no DNS",
        category: "Sensor blindness",
        description: "An interface failed, or saw no DNS response for the stall timeout.",
        severity: severity_number(Severity::High),
        attack: &[],
        references: &[],
        remediation: "Check the interface, its cabling and the span port's configuration: \
            nothing is being detected while it stays silent.",
    },
    Rule {
        id: 9_000_104,
        rev: 1,
        kind: "audit_failed",
        name: "DNSENTRY Audited server gave no answer",
        category: "Sensor blindness",
        description: "A server the audit asked about a monitored zone did not answer, refused, or answered something else than was asked.",
        severity: severity_number(Severity::High),
        attack: &[],
        references: &[],
        remediation: "Check that the server is up and reachable from the sensor, and that it \
            still serves the zone: the zone's records on it were not audited.",
    },
];

/// The rule of `kind`.
pub fn rule(kind: RuleKind) -> &'static Rule {
    let index = match kind {
        RuleKind::Alert(k) => AlertKind::ALL.iter().position(|x| *x == k).unwrap_or(0),
        RuleKind::SensorHealth => AlertKind::ALL.len(),
        RuleKind::CaptureLoss => AlertKind::ALL.len() + 1,
        RuleKind::CaptureStalled => AlertKind::ALL.len() + 2,
        RuleKind::AuditFailed => AlertKind::ALL.len() + 3,
    };
    // Every index above is in the catalogue (a unit test holds it).
    CATALOGUE.get(index).unwrap_or(&CATALOGUE[0])
}

impl AlertKind {
    /// This kind's entry of the catalogue.
    pub fn rule(self) -> &'static Rule {
        rule(RuleKind::Alert(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_rule_and_ids_are_unique_and_stable() {
        for k in AlertKind::ALL {
            assert_eq!(k.rule().kind, k.as_str());
            assert_eq!(k.rule().severity, severity_number(k.severity()));
            assert!(!k.rule().attack.is_empty(), "{k:?} has no ATT&CK technique");
            assert_eq!(k.rule().references.first(), Some(&CISA_AA19_024A));
        }
        assert_eq!(rule(RuleKind::SensorHealth).kind, "sensor_health");
        assert_eq!(rule(RuleKind::CaptureLoss).kind, "capture_loss");
        assert_eq!(rule(RuleKind::CaptureStalled).kind, "capture_stalled");
        let mut ids: Vec<u32> = CATALOGUE.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        // Pinned: SIEM content keys on these numbers.
        assert_eq!(AlertKind::IocAddress.rule().id, 9_000_001);
        assert_eq!(AlertKind::ConflictingResponse.rule().id, 9_000_011);
        assert_eq!(AlertKind::DnssecInvalid.rule().id, 9_000_012);
        assert_eq!(AlertKind::InconsistentServers.rule().id, 9_000_013);
        assert_eq!(rule(RuleKind::CaptureStalled).id, 9_000_103);
        assert_eq!(rule(RuleKind::AuditFailed).kind, "audit_failed");
        assert_eq!(rule(RuleKind::AuditFailed).id, 9_000_104);
    }

    #[test]
    fn eve_severity_maps_the_numeric_scale_to_suricatas_three_levels() {
        assert_eq!(AlertKind::IocAddress.rule().eve_severity(), 1);
        assert_eq!(AlertKind::LowTtl.rule().eve_severity(), 2);
        assert_eq!(rule(RuleKind::SensorHealth).eve_severity(), 3);
    }
}

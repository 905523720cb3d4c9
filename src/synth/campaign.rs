//! A long hijack campaign against many zones, for `dnsentry report` at
//! scale (tests and `examples/gen-campaign.rs`): every zone answers its
//! own addresses, then for a window of its own the attacker's (an
//! indicator of the campaign's feed), then its own again. Names are
//! asked by thousands of clients; now and then a zone's delegation is
//! asked too, and answered with the attacker's name servers during the
//! window. With `--suppress 0` nearly every response in a window makes
//! two alerts (the deviation and the indicator hit), so the alerts number
//! about 1.2 times the responses.

use hickory_proto::rr::RecordType;

use super::{Exchange, Scenario, a, ns, rr};

/// Campaign start: 2019-01-01T00:00:00Z.
pub const CAMPAIGN_START: i64 = 1_546_300_800;
/// Attacker addresses in the campaign's feed.
pub const ATTACKER_ADDRESSES: usize = 400;
/// Names asked in every zone.
pub const NAMES: [&str; 3] = ["www", "mail", "vpn"];
/// Distinct clients asking.
const CLIENTS: usize = 5000;
const RESOLVER: &str = "10.20.0.53";

/// A capture and what `dnsentry analyze` needs to alert on it.
#[derive(Debug)]
pub struct Campaign {
    pub scenario: Scenario,
    /// The zones' expected records (`--expect`).
    pub expect_toml: String,
    /// The attacker's addresses and name server as a CSV feed (`--ioc`).
    pub feed_csv: String,
}

/// The `index`th zone's name.
pub fn zone(index: usize) -> String {
    format!("z{index:03}.example")
}

/// The `i`th attacker address (documentation ranges).
fn attacker_address(i: usize) -> String {
    let i = i % ATTACKER_ADDRESSES;
    if i < 200 {
        format!("198.51.100.{}", 1 + i)
    } else {
        format!("203.0.113.{}", 1 + i - 200)
    }
}

/// The attacker address zone `zone` and name `name` point at.
fn attacker(zone: usize, name: usize) -> String {
    attacker_address(zone * NAMES.len() + name)
}

/// Fractions of the campaign when zone `zone` is hijacked: staggered
/// starts, each window 60% of the campaign long, so every zone has
/// answers before and after its own.
fn window(zone: usize, zones: usize) -> (f64, f64) {
    let start = 0.05 + 0.3 * zone as f64 / zones.max(1) as f64;
    (start, start + 0.6)
}

/// `responses` responses over `zones` zones, 250 ms apart.
pub fn campaign(responses: usize, zones: usize) -> Campaign {
    let zones = zones.max(1);
    let mut s = Scenario::new(CAMPAIGN_START);
    for i in 0..responses {
        let z = i % zones;
        let round = i / zones;
        let c = (round * 7 + z) % CLIENTS;
        let client = format!("10.21.{}.{}", c / 250, 1 + c % 250);
        let fraction = i as f64 / responses.max(1) as f64;
        let (from, to) = window(z, zones);
        let hijacked = (from..to).contains(&fraction);
        let apex = zone(z);
        if round % 25 == 24 {
            // The delegation.
            let servers = if hijacked {
                ["ns1.rogue-dns.test", "ns2.rogue-dns.test"]
            } else {
                ["ns1.zones.example", "ns2.zones.example"]
            };
            s.exchange(
                &Exchange::new(&client, RESOLVER, &apex, RecordType::NS)
                    .answer(rr(&apex, 86400, ns(servers[0])))
                    .answer(rr(&apex, 86400, ns(servers[1]))),
            );
            continue;
        }
        let n = round % NAMES.len();
        let name = format!("{}.{apex}", NAMES[n]);
        let address = if hijacked {
            attacker(z, n)
        } else {
            format!("192.0.2.{}", 10 + n)
        };
        s.exchange(
            &Exchange::new(&client, RESOLVER, &name, RecordType::A).answer(rr(
                &name,
                300,
                a(&address),
            )),
        );
    }
    let mut expect_toml = String::from("# The campaign's zones (dnsentry::synth::campaign).\n");
    for z in 0..zones {
        expect_toml.push_str(&format!(
            "\n[[zone]]\nname = \"{}\"\na = [\"192.0.2.0/24\"]\nns = [\"ns1.zones.example\", \"ns2.zones.example\"]\n",
            zone(z)
        ));
    }
    let mut feed_csv = String::from("indicator,type,source,url\n");
    for i in 0..ATTACKER_ADDRESSES {
        feed_csv.push_str(&format!(
            "{},ipv4,Campaign report,https://reports.example/campaign\n",
            attacker_address(i)
        ));
    }
    feed_csv
        .push_str("ns1.rogue-dns.test,domain,Campaign report,https://reports.example/campaign\n");
    Campaign {
        scenario: s,
        expect_toml,
        feed_csv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_has_answers_before_during_and_after_its_window() {
        let c = campaign(600, 6);
        assert_eq!(c.scenario.frames().len(), 1200);
        for z in 0..6 {
            let (from, to) = window(z, 6);
            assert!(from > 0.0 && to < 1.0);
        }
        assert_eq!(c.expect_toml.matches("[[zone]]").count(), 6);
        assert_eq!(c.feed_csv.lines().count(), ATTACKER_ADDRESSES + 2);
        assert_eq!(attacker(0, 0), "198.51.100.1");
        assert_eq!(attacker(133, 0), "203.0.113.200");
        assert_eq!(attacker(133, 1), "198.51.100.1");
    }
}

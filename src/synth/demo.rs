//! The demo capture (`pcaps/demo-hijack.pcap`): an organisation's resolver
//! traffic on a morning in January 2019, with the AA19-024A hijacks planted
//! among benign lookups. `pcaps/demo-hijack.zones.toml` holds the expected
//! records; `cargo run --example gen-demo` rewrites the capture.
//!
//! Addresses of the organisation and its hosts are documentation ranges
//! (RFC 5737, RFC 3849); attacker infrastructure is the campaign's own
//! published indicators (ioc-feeds/aa19-024a.csv) or names under `.test`.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::{Exchange, Scenario, Via, a, aaaa, cname, mx, ns, rr, soa, txt};

const RESOLVER: &str = "10.1.0.53";
const RESOLVER6: &str = "2001:db8:10::53";

/// 2019-01-10T09:00:00Z, two weeks before the alert was published.
pub const DEMO_START: i64 = 1_547_110_800;

pub fn demo_scenario() -> Scenario {
    let mut s = Scenario::new(DEMO_START);
    let client = |n: u8| format!("10.1.2.{n}");

    // Benign: the organisation's own records as expected.
    s.exchange(
        &Exchange::new(&client(10), RESOLVER, "www.example.org", RecordType::A).answer(rr(
            "www.example.org",
            300,
            a("192.0.2.10"),
        )),
    );
    s.exchange(
        &Exchange::new(&client(11), RESOLVER, "example.org", RecordType::MX)
            .answer(rr("example.org", 3600, mx(10, "mail.example.org")))
            .additional(rr("mail.example.org", 3600, a("192.0.2.25"))),
    );
    s.exchange(
        &Exchange::new(&client(12), RESOLVER, "example.org", RecordType::NS)
            .answer(rr("example.org", 86400, ns("ns1.example.org")))
            .answer(rr("example.org", 86400, ns("ns2.example.org"))),
    );
    // A CDN chain: the A record belongs to the CDN's name, not the zone's.
    s.exchange(
        &Exchange::new(&client(13), RESOLVER, "static.example.org", RecordType::A)
            .answer(rr(
                "static.example.org",
                300,
                cname("edge-7.cdn.example.net"),
            ))
            .answer(rr("edge-7.cdn.example.net", 60, a("203.0.113.50"))),
    );
    s.exchange(
        &Exchange::new(&client(14), RESOLVER, "www.example.org", RecordType::AAAA).answer(rr(
            "www.example.org",
            300,
            aaaa("2001:db8:10::80"),
        )),
    );
    // Resolvers randomise case (0x20): still the zone, still allowed.
    s.exchange(
        &Exchange::new(&client(15), RESOLVER, "WwW.ExAmPlE.oRg", RecordType::A).answer(rr(
            "WwW.ExAmPlE.oRg",
            300,
            a("192.0.2.10"),
        )),
    );
    // Other people's names: never the zone's business.
    s.exchange(
        &Exchange::new(&client(16), RESOLVER, "www.wikipedia.org", RecordType::A)
            .answer(rr("www.wikipedia.org", 600, cname("dyna.wikimedia.org")))
            .answer(rr("dyna.wikimedia.org", 600, a("198.51.100.224"))),
    );
    s.exchange(
        &Exchange::new(&client(17), RESOLVER, "nosuch.example.org", RecordType::A)
            .rcode(ResponseCode::NXDomain)
            .authority(rr(
                "example.org",
                300,
                soa("ns1.example.org", "hostmaster.example.org", 2019011001),
            )),
    );
    s.exchange(
        &Exchange::new(&client(18), RESOLVER, "example.org", RecordType::TXT).answer(rr(
            "example.org",
            300,
            txt("v=spf1 mx -all"),
        )),
    );

    // Hijack 1 (FireEye technique 1): mail host's A record moved to a
    // DNSpionage server.
    s.exchange(
        &Exchange::new(&client(20), RESOLVER, "mail.example.org", RecordType::A).answer(rr(
            "mail.example.org",
            300,
            a("185.20.187.8"),
        )),
    );
    // Hijack 2 (technique 2, Sea Turtle): delegation moved to rogue name
    // servers, seen over TCP.
    s.exchange(
        &Exchange::new(&client(21), RESOLVER, "example.org", RecordType::NS)
            .answer(rr("example.org", 86400, ns("ns1.rootdnservers.com")))
            .answer(rr("example.org", 86400, ns("ns2.rootdnservers.com")))
            .via(Via::Tcp),
    );
    // Hijack 3: MX pointed at a relay the attacker runs.
    s.exchange(
        &Exchange::new(&client(22), RESOLVER, "example.org", RecordType::MX).answer(rr(
            "example.org",
            3600,
            mx(10, "mx.relay-hijack.test"),
        )),
    );
    // Hijack 4: a single subdomain's IPv6 address moved out of the
    // organisation's space, over IPv6.
    s.exchange(
        &Exchange::new(
            "2001:db8:10::1:22",
            RESOLVER6,
            "vpn.example.org",
            RecordType::AAAA,
        )
        .answer(rr("vpn.example.org", 300, aaaa("2001:db8:666::1"))),
    );
    // Hijack 5: webmail CNAMEd into actor-owned DNS; the target's address is
    // a published indicator too.
    s.exchange(
        &Exchange::new(&client(23), RESOLVER, "webmail.example.org", RecordType::A)
            .answer(rr(
                "webmail.example.org",
                300,
                cname("webmail.cloudnamedns.com"),
            ))
            .answer(rr("webmail.cloudnamedns.com", 300, a("82.196.11.127"))),
    );
    // Hijack 6: the same kind of A record change, in randomised case.
    s.exchange(
        &Exchange::new(&client(24), RESOLVER, "MaIl.ExAmPlE.oRg", RecordType::A).answer(rr(
            "MaIl.ExAmPlE.oRg",
            300,
            a("199.247.3.191"),
        )),
    );
    // Hijack 7: a portal CNAMEd to an attacker proxy not (yet) in any feed.
    s.exchange(
        &Exchange::new(&client(25), RESOLVER, "portal.example.org", RecordType::A)
            .answer(rr(
                "portal.example.org",
                300,
                cname("portal.proxy-hijack.test"),
            ))
            .answer(rr("portal.proxy-hijack.test", 300, a("198.51.100.66"))),
    );
    // A host looking up the actor's own name server directly.
    s.exchange(
        &Exchange::new(&client(26), RESOLVER, "ns1.lcjcomputing.com", RecordType::A).answer(rr(
            "ns1.lcjcomputing.com",
            300,
            a("185.15.247.140"),
        )),
    );
    // Benign again after the hijack: restored records raise nothing.
    s.exchange(
        &Exchange::new(&client(10), RESOLVER, "mail.example.org", RecordType::A).answer(rr(
            "mail.example.org",
            300,
            a("192.0.2.25"),
        )),
    );
    s
}

//! Flow identities SIEMs join on: the Community ID (v1) that Suricata,
//! Zeek and Elastic compute for a flow, and a 64-bit flow id derived from
//! it.
//!
//! Community ID v1 (github.com/corelight/community-id-spec): SHA-1 over
//! the seed (2 bytes, network order), the source and destination
//! addresses, the IP protocol, one zero byte of padding, and the source
//! and destination ports (network order), with the endpoints ordered so
//! that the smaller (address, port) comes first; then `1:` and the digest
//! in base64. Both directions of a flow get the same id.

use std::net::IpAddr;

use super::{PacketMeta, Transport};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// The flow of a packet, both directions alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowHash {
    digest: [u8; 20],
}

impl FlowHash {
    /// The flow `meta`'s packet belongs to, with seed 0 (the default of
    /// Suricata, Zeek and Elastic).
    pub fn of(meta: &PacketMeta) -> FlowHash {
        let proto = match meta.transport {
            Transport::Udp => PROTO_UDP,
            Transport::Tcp => PROTO_TCP,
        };
        FlowHash::compute(
            0,
            (meta.src_ip, meta.src_port),
            (meta.dst_ip, meta.dst_port),
            proto,
        )
    }

    fn compute(seed: u16, a: (IpAddr, u16), b: (IpAddr, u16), proto: u8) -> FlowHash {
        let bytes = |ip: IpAddr| -> Vec<u8> {
            match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            }
        };
        let (mut sa, mut sp, mut da, mut dp) = (bytes(a.0), a.1, bytes(b.0), b.1);
        if (&sa, sp) > (&da, dp) {
            std::mem::swap(&mut sa, &mut da);
            std::mem::swap(&mut sp, &mut dp);
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(&seed.to_be_bytes());
        ctx.update(&sa);
        ctx.update(&da);
        ctx.update(&[proto, 0]);
        ctx.update(&sp.to_be_bytes());
        ctx.update(&dp.to_be_bytes());
        // SHA-1 digests are 20 bytes.
        let digest = ctx.finish().as_ref().try_into().unwrap_or([0; 20]);
        FlowHash { digest }
    }

    /// `1:` and the base64 digest.
    pub fn community_id(&self) -> String {
        format!("1:{}", data_encoding::BASE64.encode(&self.digest))
    }

    /// A flow id for `flow_id`: the digest's first 8 bytes, big-endian,
    /// kept to 48 bits so that every JSON reader holds it exactly
    /// (JavaScript's numbers are exact up to 2^53). The same for every
    /// packet of the 5-tuple, in every run.
    pub fn flow_id(&self) -> u64 {
        let first = self
            .digest
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 8]);
        u64::from_be_bytes(first) & 0x0000_ffff_ffff_ffff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(proto: u8, s: &str, sp: u16, d: &str, dp: u16) -> String {
        FlowHash::compute(0, (s.parse().unwrap(), sp), (d.parse().unwrap(), dp), proto)
            .community_id()
    }

    /// From the specification's baseline/baseline_deflt.json.
    #[test]
    fn the_specifications_test_vectors() {
        let v = [
            (
                6,
                "128.232.110.120",
                34855,
                "66.35.250.204",
                80,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "66.35.250.204",
                80,
                "128.232.110.120",
                34855,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                "192.168.1.52",
                54585,
                "8.8.8.8",
                53,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                17,
                "8.8.8.8",
                53,
                "192.168.1.52",
                54585,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                6,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                63943,
                "2607:f8b0:400c:c03::1a",
                25,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                6,
                "2607:f8b0:400c:c03::1a",
                25,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                63943,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                132,
                "192.168.170.8",
                7,
                "192.168.170.56",
                7,
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
        ];
        for (proto, s, sp, d, dp, want) in v {
            assert_eq!(id(proto, s, sp, d, dp), want, "{s}:{sp} > {d}:{dp}");
        }
    }

    #[test]
    fn flow_id_is_the_same_both_ways_and_fits_48_bits() {
        let a = FlowHash::compute(
            0,
            ("10.1.2.3".parse().unwrap(), 40000),
            ("10.1.0.53".parse().unwrap(), 53),
            17,
        );
        let b = FlowHash::compute(
            0,
            ("10.1.0.53".parse().unwrap(), 53),
            ("10.1.2.3".parse().unwrap(), 40000),
            17,
        );
        assert_eq!(a.flow_id(), b.flow_id());
        assert!(a.flow_id() < 1 << 48);
        assert_ne!(a.flow_id(), 0);
    }
}

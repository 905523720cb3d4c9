//! Network layer: IPv4 and IPv6 (with extension headers) to the transport
//! payload.
//!
//! Lengths are taken laxly: a snaplen-cut packet still yields what was
//! captured (`incomplete`), because a truncated response can still carry
//! the forged answer at its start.

use std::net::IpAddr;

use etherparse::{LaxIpv4Slice, LaxIpv6Slice};

use super::link::{NetPacket, NetProto};
use crate::model::Malformed;

/// An IP packet's addresses and payload.
#[derive(Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the payload (after IPv6 extension headers).
    pub protocol: u8,
    pub payload: &'a [u8],
    /// Part of a fragmented datagram.
    pub fragmented: bool,
    /// The header promised more bytes than were captured.
    pub incomplete: bool,
    /// IPv4 TTL or IPv6 hop limit: a forged answer often arrives with a
    /// different one than the real server's.
    pub ttl: u8,
}

pub fn parse(net: NetPacket<'_>) -> Result<IpPacket<'_>, Malformed> {
    match net.proto {
        NetProto::Ipv4 => {
            let (ip, _auth_err) =
                LaxIpv4Slice::from_slice(net.bytes).map_err(|_| Malformed::Ipv4HeaderInvalid)?;
            let header = ip.header();
            let payload = ip.payload();
            Ok(IpPacket {
                src: IpAddr::V4(header.source_addr()),
                dst: IpAddr::V4(header.destination_addr()),
                protocol: payload.ip_number.0,
                payload: payload.payload,
                fragmented: payload.fragmented,
                incomplete: payload.incomplete,
                ttl: header.ttl(),
            })
        }
        NetProto::Ipv6 => {
            let (ip, _ext_err) =
                LaxIpv6Slice::from_slice(net.bytes).map_err(|_| Malformed::Ipv6HeaderInvalid)?;
            let header = ip.header();
            let payload = ip.payload();
            Ok(IpPacket {
                src: IpAddr::V6(header.source_addr()),
                dst: IpAddr::V6(header.destination_addr()),
                protocol: payload.ip_number.0,
                payload: payload.payload,
                fragmented: payload.fragmented,
                incomplete: payload.incomplete,
                ttl: header.hop_limit(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_v4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 53], [198, 51, 100, 7], 64)
            .udp(53, 40000)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    #[test]
    fn ipv4_udp() {
        let bytes = udp_v4(b"hello");
        let p = parse(NetPacket {
            proto: NetProto::Ipv4,
            bytes: &bytes,
        })
        .unwrap();
        assert_eq!(p.src, "192.0.2.53".parse::<IpAddr>().unwrap());
        assert_eq!(p.protocol, 17);
        assert_eq!(p.payload.len(), 8 + 5);
        assert!(!p.fragmented && !p.incomplete);
    }

    #[test]
    fn cut_packet_is_incomplete_not_an_error() {
        let bytes = udp_v4(b"hello world");
        let p = parse(NetPacket {
            proto: NetProto::Ipv4,
            bytes: &bytes[..bytes.len() - 4],
        })
        .unwrap();
        assert!(p.incomplete);
    }

    #[test]
    fn every_truncation_is_handled() {
        let bytes = udp_v4(b"hello world");
        for cut in 0..bytes.len() {
            let _ = parse(NetPacket {
                proto: NetProto::Ipv4,
                bytes: &bytes[..cut],
            });
            let _ = parse(NetPacket {
                proto: NetProto::Ipv6,
                bytes: &bytes[..cut],
            });
        }
        assert_eq!(
            parse(NetPacket {
                proto: NetProto::Ipv4,
                bytes: &bytes[..10],
            }),
            Err(Malformed::Ipv4HeaderInvalid)
        );
    }
}

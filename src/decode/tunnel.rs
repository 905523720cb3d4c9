//! Tunnels seen on remote span and cloud mirror sessions: GRE (version 0,
//! with ERSPAN types I–III and GRE in UDP; version 1 as PPTP uses it),
//! VXLAN and Geneve. Each decapsulates to the inner layer it carries; the
//! demux follows it and recurses.

use super::link::ETHERTYPE_TEB;
use crate::model::TunnelKind;
use crate::model::{Malformed, NotDns};

/// UDP ports on which tunnels arrive (IANA assignments).
pub const PORT_VXLAN: u16 = 4789;
pub const PORT_GENEVE: u16 = 6081;
pub const PORT_GRE_IN_UDP: u16 = 4754;

const GRE_PROTO_ERSPAN_1_2: u16 = 0x88be;
const GRE_PROTO_ERSPAN_3: u16 = 0x22eb;
const GRE_PROTO_PPP: u16 = 0x880b;

/// What is inside a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner<'a> {
    /// A full Ethernet frame.
    Ethernet(&'a [u8]),
    /// Bytes of the given EtherType (IPv4, IPv6, MPLS, ...).
    EtherType(u16, &'a [u8]),
    /// A PPP frame (PPTP).
    Ppp(&'a [u8]),
}

/// A decapsulated tunnel: its kind, its id where it has one, and the inner
/// layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decap<'a> {
    pub kind: TunnelKind,
    pub id: Option<u32>,
    pub inner: Inner<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelSkip {
    NotDns(NotDns),
    Malformed(Malformed),
}

fn bad() -> TunnelSkip {
    TunnelSkip::Malformed(Malformed::TunnelHeaderInvalid)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// GRE (RFC 2784/2890 version 0, RFC 2637 version 1).
pub fn gre(payload: &[u8], over_udp: bool) -> Result<Decap<'_>, TunnelSkip> {
    let flags = be16(payload, 0).ok_or_else(bad)?;
    let protocol = be16(payload, 2).ok_or_else(bad)?;
    let checksum = flags & 0x8000 != 0;
    let routing = flags & 0x4000 != 0;
    let key = flags & 0x2000 != 0;
    let seq = flags & 0x1000 != 0;
    let ack = flags & 0x0080 != 0;
    let version = flags & 0x0007;

    let mut at = 4;
    let mut id = None;
    match version {
        0 => {
            if routing {
                // Source routing (RFC 1701) was never deployed; a packet
                // claiming it is not something a mirror session sends.
                return Err(bad());
            }
            if checksum {
                at += 4;
            }
            if key {
                id = be32(payload, at);
                at += 4;
            }
            if seq {
                at += 4;
            }
        }
        1 => {
            // Enhanced GRE: key is mandatory (payload length + call id).
            if !key || protocol != GRE_PROTO_PPP {
                return Err(bad());
            }
            id = be16(payload, at + 2).map(u32::from);
            at += 4;
            if seq {
                at += 4;
            }
            if ack {
                at += 4;
            }
        }
        _ => return Err(bad()),
    }
    let inner = payload.get(at..).ok_or_else(bad)?;
    let kind = if over_udp {
        TunnelKind::GreUdp
    } else {
        TunnelKind::Gre
    };
    match protocol {
        GRE_PROTO_PPP if version == 1 => {
            if inner.is_empty() {
                // An acknowledgement without data.
                return Err(TunnelSkip::NotDns(NotDns::NotIp));
            }
            Ok(Decap {
                kind: TunnelKind::GrePptp,
                id,
                inner: Inner::Ppp(inner),
            })
        }
        GRE_PROTO_ERSPAN_1_2 => {
            // Type I has no sequence number and no ERSPAN header; type II
            // has both: an 8-byte header with a 10-bit session id.
            if seq {
                let session = be16(inner, 2).map(|s| u32::from(s & 0x03ff));
                Ok(Decap {
                    kind: TunnelKind::ErspanII,
                    id: session,
                    inner: Inner::Ethernet(inner.get(8..).ok_or_else(bad)?),
                })
            } else {
                Ok(Decap {
                    kind: TunnelKind::ErspanI,
                    id,
                    inner: Inner::Ethernet(inner),
                })
            }
        }
        GRE_PROTO_ERSPAN_3 => {
            // 12-byte header; bit O of its last byte announces an 8-byte
            // platform-specific subheader.
            let session = be16(inner, 2).map(|s| u32::from(s & 0x03ff));
            let optional = inner.get(11).ok_or_else(bad)? & 0x01 != 0;
            let skip = if optional { 20 } else { 12 };
            Ok(Decap {
                kind: TunnelKind::ErspanIII,
                id: session,
                inner: Inner::Ethernet(inner.get(skip..).ok_or_else(bad)?),
            })
        }
        ETHERTYPE_TEB => Ok(Decap {
            kind,
            id,
            inner: Inner::Ethernet(inner),
        }),
        other => Ok(Decap {
            kind,
            id,
            inner: Inner::EtherType(other, inner),
        }),
    }
}

/// VXLAN (RFC 7348): 8-byte header with the I flag and a 24-bit VNI, then
/// an Ethernet frame.
pub fn vxlan(payload: &[u8]) -> Result<Decap<'_>, TunnelSkip> {
    let flags = *payload.first().ok_or_else(bad)?;
    if flags & 0x08 == 0 {
        return Err(bad());
    }
    let vni = be32(payload, 4).ok_or_else(bad)? >> 8;
    Ok(Decap {
        kind: TunnelKind::Vxlan,
        id: Some(vni),
        inner: Inner::Ethernet(payload.get(8..).ok_or_else(bad)?),
    })
}

/// Geneve (RFC 8926): version, options length in 4-byte words, protocol
/// type, 24-bit VNI, options, then the payload of that protocol type.
pub fn geneve(payload: &[u8]) -> Result<Decap<'_>, TunnelSkip> {
    let b0 = *payload.first().ok_or_else(bad)?;
    if b0 >> 6 != 0 {
        return Err(bad());
    }
    let options = usize::from(b0 & 0x3f) * 4;
    let protocol = be16(payload, 2).ok_or_else(bad)?;
    let vni = be32(payload, 4).ok_or_else(bad)? >> 8;
    let inner = payload.get(8 + options..).ok_or_else(bad)?;
    let inner = if protocol == ETHERTYPE_TEB {
        Inner::Ethernet(inner)
    } else {
        Inner::EtherType(protocol, inner)
    };
    Ok(Decap {
        kind: TunnelKind::Geneve,
        id: Some(vni),
        inner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_v0_with_key_and_sequence() {
        let pkt = [0x30, 0x00, 0x08, 0x00, 0, 0, 0, 42, 0, 0, 0, 1, 0x45];
        let d = gre(&pkt, false).unwrap();
        assert_eq!(d.kind, TunnelKind::Gre);
        assert_eq!(d.id, Some(42));
        assert_eq!(d.inner, Inner::EtherType(0x0800, &[0x45]));
    }

    #[test]
    fn erspan_types() {
        let t1 = [0x00, 0x00, 0x88, 0xbe, 0xaa];
        assert_eq!(gre(&t1, false).unwrap().inner, Inner::Ethernet(&[0xaa]));
        let mut t2 = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 9];
        t2.extend_from_slice(&[0x10, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0xbb]);
        let d = gre(&t2, false).unwrap();
        assert_eq!((d.kind, d.id), (TunnelKind::ErspanII, Some(7)));
        assert_eq!(d.inner, Inner::Ethernet(&[0xbb]));
        let mut t3 = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 9];
        t3.extend_from_slice(&[0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        t3.extend_from_slice(&[0u8; 8]);
        t3.push(0xcc);
        let d = gre(&t3, false).unwrap();
        assert_eq!((d.kind, d.id), (TunnelKind::ErspanIII, Some(5)));
        assert_eq!(d.inner, Inner::Ethernet(&[0xcc]));
    }

    #[test]
    fn pptp_gre_v1() {
        // K and S set, version 1, protocol PPP; payload length, call id, seq.
        let pkt = [
            0x30, 0x01, 0x88, 0x0b, 0, 3, 0, 77, 0, 0, 0, 1, 0x21, 0x45, 0,
        ];
        let d = gre(&pkt, false).unwrap();
        assert_eq!((d.kind, d.id), (TunnelKind::GrePptp, Some(77)));
        assert_eq!(d.inner, Inner::Ppp(&[0x21, 0x45, 0]));
    }

    #[test]
    fn vxlan_and_geneve() {
        let v = [0x08, 0, 0, 0, 0, 0x12, 0x34, 0, 0xee];
        let d = vxlan(&v).unwrap();
        assert_eq!(d.id, Some(0x1234));
        assert_eq!(d.inner, Inner::Ethernet(&[0xee]));
        assert!(
            vxlan(&[0x00, 0, 0, 0, 0, 0, 0, 0]).is_err(),
            "I flag required"
        );
        let g = [0x01, 0, 0x08, 0x00, 0, 0, 5, 0, 1, 2, 3, 4, 0x45];
        let d = geneve(&g).unwrap();
        assert_eq!(d.id, Some(5));
        assert_eq!(d.inner, Inner::EtherType(0x0800, &[0x45]));
    }

    #[test]
    fn truncations_are_errors_not_panics() {
        let pkts: [&[u8]; 4] = [
            &[0xb0, 0x00, 0x22, 0xeb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x30, 0x01, 0x88, 0x0b, 0, 3, 0, 77, 0, 0, 0, 1],
            &[0x08, 0, 0, 0, 0, 0x12, 0x34, 0],
            &[0x3f, 0, 0x08, 0x00, 0, 0, 5, 0],
        ];
        for p in pkts {
            for cut in 0..p.len() {
                let _ = gre(&p[..cut], false);
                let _ = vxlan(&p[..cut]);
                let _ = geneve(&p[..cut]);
            }
        }
    }
}

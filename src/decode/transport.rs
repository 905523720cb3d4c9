//! Transport layer: UDP and TCP to the DNS bytes they carry.

use etherparse::{TcpSlice, UdpSlice};

use crate::model::Malformed;

/// IP protocol numbers.
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// Where DNS is unless the user says otherwise.
pub const DEFAULT_DNS_PORTS: [u16; 1] = [53];

/// Ports on which traffic is taken for DNS. A bitmap, so the check that
/// throws away most of a span port's traffic costs one load.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    pub fn new(ports: &[u16]) -> Self {
        let mut bits = Box::new([0u64; 1024]);
        for &p in ports {
            if let Some(word) = bits.get_mut(usize::from(p / 64)) {
                *word |= 1 << (p % 64);
            }
        }
        PortSet(bits)
    }

    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.0
            .get(usize::from(port / 64))
            .is_some_and(|w| w & (1 << (port % 64)) != 0)
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<u16> = (0..=u16::MAX).filter(|p| self.contains(*p)).collect();
        f.debug_tuple("PortSet").field(&ports).finish()
    }
}

/// A UDP datagram or TCP segment.
#[derive(Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
    pub tcp: Option<TcpInfo>,
}

/// What the TCP stage needs from a segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The acknowledgement number, when the ACK flag is set.
    pub ack: Option<u32>,
}

pub fn udp(ip_payload: &[u8]) -> Result<Segment<'_>, Malformed> {
    // Lax: the UDP length may promise more than the snaplen kept.
    let udp = UdpSlice::from_slice_lax(ip_payload).map_err(|_| Malformed::UdpTruncated)?;
    Ok(Segment {
        src_port: udp.source_port(),
        dst_port: udp.destination_port(),
        payload: udp.payload(),
        tcp: None,
    })
}

pub fn tcp(ip_payload: &[u8]) -> Result<Segment<'_>, Malformed> {
    let tcp = TcpSlice::from_slice(ip_payload).map_err(|_| Malformed::TcpHeaderInvalid)?;
    Ok(Segment {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        payload: tcp.payload(),
        tcp: Some(TcpInfo {
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            ack: tcp.ack().then_some(tcp.acknowledgment_number()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_set() {
        let s = PortSet::new(&[53, 5353, 0, 65535]);
        for p in [53, 5353, 0, 65535] {
            assert!(s.contains(p));
        }
        assert!(!s.contains(54));
        assert!(!s.contains(8053));
    }

    #[test]
    fn truncated_headers() {
        assert_eq!(udp(&[0, 53, 0]), Err(Malformed::UdpTruncated));
        assert_eq!(tcp(&[0; 19]), Err(Malformed::TcpHeaderInvalid));
    }
}

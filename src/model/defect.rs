//! Why a packet was not DNS, or was malformed: reasons with stable names,
//! counted by every stage and named in the weird log and the summary.

use std::collections::BTreeMap;
use std::ops::AddAssign;

/// Declares a reason enum with a stable snake_case name per variant and a
/// fixed-size counter array indexed by it.
macro_rules! reasons {
    ($(#[$doc:meta])* $name:ident, $counts:ident { $($(#[$vdoc:meta])* $variant:ident => $label:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        /// Counts per reason.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $counts([u64; $name::ALL.len()]);

        impl Default for $counts {
            fn default() -> Self {
                $counts([0; $name::ALL.len()])
            }
        }

        impl $counts {
            pub fn add(&mut self, reason: $name) {
                if let Some(c) = self.0.get_mut(reason as usize) {
                    *c += 1;
                }
            }

            pub fn get(&self, reason: $name) -> u64 {
                self.0.get(reason as usize).copied().unwrap_or(0)
            }

            pub fn total(&self) -> u64 {
                self.0.iter().sum()
            }

            /// Non-zero counts by name, for reports.
            pub fn to_map(&self) -> BTreeMap<&'static str, u64> {
                $name::ALL
                    .iter()
                    .map(|r| (r.as_str(), self.get(*r)))
                    .filter(|(_, n)| *n > 0)
                    .collect()
            }
        }

        impl AddAssign<&$counts> for $counts {
            fn add_assign(&mut self, other: &$counts) {
                for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
                    *a += *b;
                }
            }
        }
    };
}

reasons! {
    /// Why a packet was not DNS for us. Not an error: a span port carries
    /// everything.
    NotDns, NotDnsCounts {
        /// Link payload is not IPv4 or IPv6 (ARP, LLDP, ...).
        NotIp => "not_ip",
        /// IP payload is neither UDP nor TCP.
        NotUdpOrTcp => "not_udp_or_tcp",
        /// UDP/TCP but neither port is a DNS port.
        NotDnsPort => "not_dns_port",
        /// A DNS query (QR=0): the sensor checks answers only.
        Query => "dns_query",
        /// TCP segment on a DNS port that completed no DNS message
        /// (handshake, ACK, or part of a message still being reassembled).
        TcpNoMessage => "tcp_no_message",
        /// Link type this build does not decode.
        UnsupportedLinkType => "unsupported_link_type",
        /// 802.11 frame with the Protected bit: its payload is encrypted.
        Encrypted => "encrypted_80211",
    }
}

reasons! {
    /// What was wrong with a malformed packet or message. Each is counted and
    /// the packet skipped (or, for DNS, decoded up to the damage).
    Malformed, MalformedCounts {
        LinkTruncated => "link_truncated",
        TooManyVlanTags => "too_many_vlan_tags",
        TooManyMplsLabels => "too_many_mpls_labels",
        TunnelHeaderInvalid => "tunnel_header_invalid",
        /// Tunnels nested deeper than the decoder follows.
        TooManyEncapsulations => "too_many_encapsulations",
        /// A fragment etherparse's reassembly rejects (bad length or
        /// offset, conflicting end).
        IpFragmentInvalid => "ip_fragment_invalid",
        /// Fragments overlapping with different ranges: the datagram is
        /// dropped, as Linux does (RFC 5722 for IPv6).
        IpFragmentOverlap => "ip_fragment_overlap",
        /// The reassembly bounds bit: the oldest incomplete datagram was
        /// dropped to make room.
        IpFragmentsEvicted => "ip_fragments_evicted",
        /// An incomplete datagram's fragments timed out (packet time).
        IpFragmentsTimedOut => "ip_fragments_timed_out",
        /// A TCP stream skipped data it could not place: a segment the
        /// capture lost (the peer acknowledged it, or the stream ended), or
        /// out-of-order data past the per-flow bound.
        TcpGap => "tcp_gap",
        /// After a gap, a TCP stream resumed at a segment that starts with a
        /// plausible length-prefixed DNS message.
        TcpGapResync => "tcp_gap_resync",
        /// A TCP flow was dropped because the flow table was full.
        TcpFlowEvicted => "tcp_flow_evicted",
        /// The out-of-order and partial-message data of the least recently
        /// active TCP stream was dropped: all streams together held the
        /// global reassembly budget.
        TcpReassemblyBudget => "tcp_reassembly_budget",
        /// A DNS-over-TCP length prefix of zero.
        TcpZeroLengthMessage => "tcp_zero_length_message",
        /// Bytes at the start of a stream picked up mid-way, or after a gap,
        /// that did not look like a length-prefixed DNS message, skipped to
        /// resync.
        TcpUnsyncedData => "tcp_unsynced_data",
        Ipv4HeaderInvalid => "ipv4_header_invalid",
        Ipv6HeaderInvalid => "ipv6_header_invalid",
        UdpTruncated => "udp_truncated",
        TcpHeaderInvalid => "tcp_header_invalid",
        DnsHeaderTruncated => "dns_header_truncated",
        DnsNameBadPointer => "dns_name_bad_pointer",
        DnsNameTooLong => "dns_name_too_long",
        DnsLabelInvalid => "dns_label_invalid",
        DnsTruncated => "dns_truncated",
        DnsRdataLengthMismatch => "dns_rdata_length_mismatch",
        DnsRdataInvalid => "dns_rdata_invalid",
        DnsOptInvalid => "dns_opt_invalid",
        /// The message decoded to more records or text than its size can
        /// honestly hold (a compression bomb): the rest was not decoded.
        DnsDecodeBudget => "dns_decode_budget",
        /// The response raised more alerts than one response may
        /// (`matcher::MAX_ALERTS_PER_RESPONSE`): the most severe were
        /// written, the rest only counted here.
        DnsAlertLimit => "dns_alert_limit",
        /// A response was forgotten before its race window ended: the
        /// spoofing table held its bound (`matcher::spoof`). A
        /// conflicting answer to it would go unseen, so a flood of
        /// responses ahead of an injection shows here.
        SpoofTableFull => "spoof_table_full",
        /// The table of servers' IP TTLs reached its bound and started
        /// afresh: TTL evidence for the servers seen before is lost.
        ServerTtlTableReset => "server_ttl_table_reset",
        /// The suppression table reached its bound and forgot its older
        /// half: repeats of those alerts are written again, as new.
        SuppressionTableTrimmed => "suppression_table_trimmed",
        /// A weird-log line left out by sampling (`output::sampling`):
        /// the anomaly is still counted under its own name.
        WeirdLogSampled => "weird_log_sampled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_are_unique() {
        let mut names: Vec<_> = Malformed::ALL.iter().map(|r| r.as_str()).collect();
        names.extend(NotDns::ALL.iter().map(|r| r.as_str()));
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn counts_sum_and_map() {
        let mut a = MalformedCounts::default();
        a.add(Malformed::DnsTruncated);
        let mut b = MalformedCounts::default();
        b.add(Malformed::DnsTruncated);
        b.add(Malformed::LinkTruncated);
        a += &b;
        assert_eq!(a.get(Malformed::DnsTruncated), 2);
        assert_eq!(a.total(), 3);
        assert_eq!(a.to_map().get("link_truncated"), Some(&1));
        assert!(!a.to_map().contains_key("udp_truncated"));
    }
}

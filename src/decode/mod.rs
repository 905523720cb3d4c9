//! Decoding, one module per protocol layer.
//!
//! * [`Demux`] runs in the capture thread: link → (tunnels) → IP → UDP/TCP
//!   → "is this a DNS response?". It keeps the stateful parts (IP fragment
//!   reassembly, TCP streams), so it runs in packet order; only the DNS
//!   messages it finds are copied into the [`PayloadBatch`] that goes to the
//!   workers. Non-DNS traffic is dropped on the port check before any DNS
//!   parsing; most UDP queries before any layer is parsed (`query`).
//! * [`dns::decode_response`] runs in the worker pool: the DNS message to a
//!   [`crate::model::DnsResponse`].

// Packet and file bytes are hostile: every access is checked.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod defrag;
pub mod dns;
pub mod ip;
pub mod link;
pub mod name;
mod query;
pub mod tcp;
pub mod transport;
pub mod tunnel;

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::model::{Malformed, NotDns};
use crate::model::{
    PacketMeta, PayloadBatch, SourceRef, Timestamp, Transport, Tunnel, TunnelKind, VlanStack, Weird,
};
use crate::stats::CaptureCounters;
use defrag::{Defrag, DefragLimits, Defragged};
use link::{LinkSkip, LinkType, NetPacket, NetProto};
use tcp::{StreamKey, StreamSink, TcpLimits, TcpReassembler};
use transport::{IPPROTO_TCP, IPPROTO_UDP, PortSet};
use tunnel::{Decap, Inner, PORT_GENEVE, PORT_GRE_IN_UDP, PORT_VXLAN, TunnelSkip};

/// Size of the DNS header; a message shorter than this is counted
/// malformed by the workers.
pub const DNS_HEADER_LEN: usize = 12;

const IPPROTO_IPIP: u8 = 4;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;

/// Tunnels inside tunnels beyond this depth are not followed: real mirror
/// sessions nest two or three, and the bound stops a crafted packet from
/// recursing.
const MAX_ENCAPSULATION_DEPTH: u8 = 8;

/// Bounds of the stateful stages.
#[derive(Clone, Copy, Debug, Default)]
pub struct DemuxLimits {
    pub defrag: DefragLimits,
    pub tcp: TcpLimits,
}

/// The link-to-transport stage of one capture thread.
pub struct Demux {
    ports: PortSet,
    defrag: Defrag,
    tcp: TcpReassembler,
    /// Record each anomaly for the weird log, not only count it.
    log_weirds: bool,
    limits: DemuxLimits,
    /// Last packet seen: file and time, to tell a continuing capture from
    /// an unrelated one.
    last: Option<(u32, Timestamp)>,
    /// Count UDP queries in the commonest framing without parsing their
    /// layers (`query`); off only to compare both paths in tests.
    skip_plain_queries: bool,
    pub counters: CaptureCounters,
}

/// What is known about the packet being decoded, layer by layer.
struct Ctx {
    ts: Timestamp,
    source: SourceRef,
    vlan: VlanStack,
    tunnel: Option<Tunnel>,
    depth: u8,
    /// TTL of the innermost IP header seen so far.
    ip_ttl: u8,
}

impl Ctx {
    /// Identifies the network a packet travelled in (VLANs, tunnel), so
    /// that reassembly never mixes flows that share addresses.
    fn channel(&self) -> u64 {
        if self.vlan.is_empty() && self.tunnel.is_none() {
            return 0;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.vlan.hash(&mut h);
        self.tunnel.hash(&mut h);
        h.finish()
    }
}

/// Addresses known at the point an anomaly is met.
#[derive(Clone, Copy, Default)]
struct Where {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
}

impl Where {
    fn ips(src: IpAddr, dst: IpAddr) -> Where {
        Where {
            src: Some(src),
            dst: Some(dst),
            ..Where::default()
        }
    }
}

/// Counts an anomaly and, when a weird log is written, records it.
fn note(
    counters: &mut CaptureCounters,
    out: &mut PayloadBatch,
    log: bool,
    ctx: &Ctx,
    at: Where,
    m: Malformed,
) {
    counters.malformed.add(m);
    if log {
        out.weirds.push(Weird {
            ts: ctx.ts,
            name: m.as_str(),
            src_ip: at.src,
            dst_ip: at.dst,
            src_port: at.sport,
            dst_port: at.dport,
            source: ctx.source,
        });
    }
}

/// One DNS message found on the wire: queries are counted and dropped
/// here, responses go to the workers.
fn emit_message(
    counters: &mut CaptureCounters,
    meta: PacketMeta,
    msg: &[u8],
    out: &mut PayloadBatch,
    log: bool,
) {
    let Some(flags) = msg.get(2) else {
        let m = Malformed::DnsHeaderTruncated;
        counters.malformed.add(m);
        if log {
            out.weirds.push(Weird {
                ts: meta.ts,
                name: m.as_str(),
                src_ip: Some(meta.src_ip),
                dst_ip: Some(meta.dst_ip),
                src_port: Some(meta.src_port),
                dst_port: Some(meta.dst_port),
                source: meta.source,
            });
        }
        return;
    };
    if flags & 0x80 == 0 {
        return counters.not_dns.add(NotDns::Query);
    }
    if out.push(meta, msg) {
        counters.dns_messages += 1;
    }
}

/// Receives what a TCP stream yields for one segment.
struct TcpEmit<'a> {
    counters: &'a mut CaptureCounters,
    out: &'a mut PayloadBatch,
    log: bool,
    ctx: &'a Ctx,
    meta: PacketMeta,
    messages: u32,
}

impl StreamSink for TcpEmit<'_> {
    fn message(&mut self, msg: &[u8]) {
        self.messages += 1;
        emit_message(self.counters, self.meta, msg, self.out, self.log);
    }

    fn defect(&mut self, m: Malformed) {
        let at = Where {
            src: Some(self.meta.src_ip),
            dst: Some(self.meta.dst_ip),
            sport: Some(self.meta.src_port),
            dport: Some(self.meta.dst_port),
        };
        note(self.counters, self.out, self.log, self.ctx, at, m);
    }
}

impl Demux {
    pub fn new(ports: PortSet) -> Self {
        Demux::with_limits(ports, DemuxLimits::default(), false)
    }

    pub fn with_limits(ports: PortSet, limits: DemuxLimits, log_weirds: bool) -> Self {
        Demux {
            ports,
            defrag: Defrag::new(limits.defrag),
            tcp: TcpReassembler::new(limits.tcp),
            log_weirds,
            limits,
            last: None,
            skip_plain_queries: true,
            counters: CaptureCounters::default(),
        }
    }

    /// Files given in order may be one capture rotated into pieces (state
    /// carries over) or unrelated captures (it must not: a replayed TCP
    /// stream would look like a retransmission). A new file whose time
    /// goes back before the previous file's last packet is taken as
    /// unrelated, and reassembly starts afresh.
    fn follow_time(&mut self, source: SourceRef, ts: Timestamp) {
        if let Some((file, last_ts)) = self.last
            && file != source.file
            && ts < last_ts
        {
            self.defrag = Defrag::new(self.limits.defrag);
            self.tcp = TcpReassembler::new(self.limits.tcp);
        }
        self.last = Some((source.file, ts));
    }

    /// Takes one captured frame; any DNS response in it (or completed by
    /// it, for fragments and TCP) is appended to `out`.
    pub fn frame(
        &mut self,
        link: LinkType,
        source: SourceRef,
        ts: Timestamp,
        frame: &[u8],
        out: &mut PayloadBatch,
    ) {
        self.counters.packets += 1;
        self.counters.bytes += frame.len() as u64;
        self.follow_time(source, ts);
        if self.skip_plain_queries && query::is_plain_udp_query(link, frame, &self.ports) {
            return self.counters.not_dns.add(NotDns::Query);
        }
        let mut ctx = Ctx {
            ts,
            source,
            vlan: VlanStack::default(),
            tunnel: None,
            depth: 0,
            ip_ttl: 0,
        };
        match link::strip(link, frame, &mut ctx.vlan) {
            Ok(net) => self.network(&mut ctx, net, out),
            Err(skip) => self.link_skip(&ctx, Where::default(), skip, out),
        }
    }

    fn link_skip(&mut self, ctx: &Ctx, at: Where, skip: LinkSkip, out: &mut PayloadBatch) {
        match skip {
            LinkSkip::NotDns(reason) => self.counters.not_dns.add(reason),
            LinkSkip::Malformed(m) => self.defect(ctx, at, m, out),
        }
    }

    fn defect(&mut self, ctx: &Ctx, at: Where, m: Malformed, out: &mut PayloadBatch) {
        note(&mut self.counters, out, self.log_weirds, ctx, at, m);
    }

    fn network(&mut self, ctx: &mut Ctx, net: NetPacket<'_>, out: &mut PayloadBatch) {
        let ip = match ip::parse(net) {
            Ok(ip) => ip,
            Err(m) => return self.defect(ctx, Where::default(), m, out),
        };
        ctx.ip_ttl = ip.ttl;
        if !ip.fragmented {
            return self.transport(ctx, ip.src, ip.dst, ip.protocol, ip.payload, out);
        }
        let at = Where::ips(ip.src, ip.dst);
        let channel = ctx.channel();
        let Demux {
            defrag,
            counters,
            log_weirds,
            ..
        } = self;
        let log = *log_weirds;
        let done = defrag.add(net.bytes, channel, ctx.ts, &mut |m| {
            note(counters, out, log, ctx, at, m)
        });
        if let Some(Defragged::Complete { protocol, payload }) = done {
            self.transport(ctx, ip.src, ip.dst, protocol, &payload, out);
            self.defrag.give_back(payload);
        }
    }

    fn transport(
        &mut self,
        ctx: &mut Ctx,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        payload: &[u8],
        out: &mut PayloadBatch,
    ) {
        // Where a defect was seen is put together only for the rare
        // packet that has one: two addresses a packet add up.
        let at = || Where::ips(src, dst);
        match protocol {
            IPPROTO_UDP => self.udp(ctx, src, dst, payload, out),
            IPPROTO_TCP => self.tcp(ctx, src, dst, payload, out),
            IPPROTO_IPIP | IPPROTO_IPV6 => {
                let (proto, kind) = match (protocol, src) {
                    (IPPROTO_IPIP, IpAddr::V4(_)) => (NetProto::Ipv4, TunnelKind::IpIp),
                    (IPPROTO_IPIP, IpAddr::V6(_)) => (NetProto::Ipv4, TunnelKind::FourInSix),
                    (_, IpAddr::V4(_)) => (NetProto::Ipv6, TunnelKind::SixInFour),
                    (_, IpAddr::V6(_)) => (NetProto::Ipv6, TunnelKind::SixInSix),
                };
                if self.enter_tunnel(ctx, at(), kind, None, out) {
                    let inner = NetPacket {
                        proto,
                        bytes: payload,
                    };
                    self.network(ctx, inner, out);
                }
            }
            IPPROTO_GRE => match tunnel::gre(payload, false) {
                Ok(decap) => self.decap(ctx, at(), decap, out),
                Err(skip) => self.tunnel_skip(ctx, at(), skip, out),
            },
            _ => self.counters.not_dns.add(NotDns::NotUdpOrTcp),
        }
    }

    /// Records the tunnel (the outermost one is kept) and checks the
    /// nesting bound.
    fn enter_tunnel(
        &mut self,
        ctx: &mut Ctx,
        at: Where,
        kind: TunnelKind,
        id: Option<u32>,
        out: &mut PayloadBatch,
    ) -> bool {
        ctx.depth += 1;
        if ctx.depth > MAX_ENCAPSULATION_DEPTH {
            self.defect(ctx, at, Malformed::TooManyEncapsulations, out);
            return false;
        }
        if ctx.tunnel.is_none()
            && let (Some(src), Some(dst)) = (at.src, at.dst)
        {
            ctx.tunnel = Some(Tunnel { kind, src, dst, id });
        }
        true
    }

    fn decap(&mut self, ctx: &mut Ctx, at: Where, d: Decap<'_>, out: &mut PayloadBatch) {
        if !self.enter_tunnel(ctx, at, d.kind, d.id, out) {
            return;
        }
        let net = match d.inner {
            Inner::Ethernet(frame) => link::ethernet(frame, &mut ctx.vlan),
            Inner::EtherType(t, bytes) => link::by_ethertype(t, bytes, &mut ctx.vlan),
            Inner::Ppp(frame) => link::ppp(frame),
        };
        match net {
            Ok(net) => self.network(ctx, net, out),
            Err(skip) => self.link_skip(ctx, at, skip, out),
        }
    }

    fn tunnel_skip(&mut self, ctx: &Ctx, at: Where, skip: TunnelSkip, out: &mut PayloadBatch) {
        match skip {
            TunnelSkip::NotDns(reason) => self.counters.not_dns.add(reason),
            TunnelSkip::Malformed(m) => self.defect(ctx, at, m, out),
        }
    }

    fn meta(
        ctx: &Ctx,
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
        t: Transport,
    ) -> PacketMeta {
        PacketMeta {
            ts: ctx.ts,
            src_ip: src,
            src_port: sport,
            dst_ip: dst,
            dst_port: dport,
            transport: t,
            source: ctx.source,
            vlan: ctx.vlan,
            tunnel: ctx.tunnel,
            ip_ttl: ctx.ip_ttl,
        }
    }

    fn udp(
        &mut self,
        ctx: &mut Ctx,
        src: IpAddr,
        dst: IpAddr,
        payload: &[u8],
        out: &mut PayloadBatch,
    ) {
        let seg = match transport::udp(payload) {
            Ok(seg) => seg,
            Err(m) => return self.defect(ctx, Where::ips(src, dst), m, out),
        };
        let (sport, dport) = (seg.src_port, seg.dst_port);
        if self.ports.contains(sport) || self.ports.contains(dport) {
            // Half of all DNS packets are queries: skipped before their
            // metadata is put together.
            if seg.payload.get(2).is_some_and(|flags| flags & 0x80 == 0) {
                return self.counters.not_dns.add(NotDns::Query);
            }
            let meta = Self::meta(ctx, src, dst, sport, dport, Transport::Udp);
            return emit_message(&mut self.counters, meta, seg.payload, out, self.log_weirds);
        }
        let at = Where {
            sport: Some(sport),
            dport: Some(dport),
            ..Where::ips(src, dst)
        };
        let tunnel_port = |p: u16| sport == p || dport == p;
        let decap = if tunnel_port(PORT_VXLAN) {
            tunnel::vxlan(seg.payload)
        } else if tunnel_port(PORT_GENEVE) {
            tunnel::geneve(seg.payload)
        } else if tunnel_port(PORT_GRE_IN_UDP) {
            tunnel::gre(seg.payload, true)
        } else {
            return self.counters.not_dns.add(NotDns::NotDnsPort);
        };
        match decap {
            Ok(d) => self.decap(ctx, at, d, out),
            Err(skip) => self.tunnel_skip(ctx, at, skip, out),
        }
    }

    fn tcp(
        &mut self,
        ctx: &mut Ctx,
        src: IpAddr,
        dst: IpAddr,
        payload: &[u8],
        out: &mut PayloadBatch,
    ) {
        let seg = match transport::tcp(payload) {
            Ok(seg) => seg,
            Err(m) => {
                let at = Where::ips(src, dst);
                return self.defect(ctx, at, m, out);
            }
        };
        let (sport, dport) = (seg.src_port, seg.dst_port);
        if !self.ports.contains(sport) && !self.ports.contains(dport) {
            return self.counters.not_dns.add(NotDns::NotDnsPort);
        }
        let Some(info) = seg.tcp else { return };
        let key = StreamKey {
            src,
            dst,
            src_port: sport,
            dst_port: dport,
            channel: ctx.channel(),
        };
        let meta = Self::meta(ctx, src, dst, sport, dport, Transport::Tcp);
        let Demux {
            tcp,
            counters,
            log_weirds,
            ..
        } = self;
        let mut sink = TcpEmit {
            counters,
            out,
            log: *log_weirds,
            ctx,
            meta,
            messages: 0,
        };
        let segment = tcp::Segment {
            seq: info.seq,
            syn: info.syn,
            fin: info.fin,
            rst: info.rst,
            ack: info.ack,
            payload: seg.payload,
        };
        tcp.segment(key, ctx.ts, segment, &mut sink);
        if sink.messages == 0 {
            self.counters.not_dns.add(NotDns::TcpNoMessage);
        }
    }

    /// Incomplete datagrams and TCP streams held right now.
    pub fn held(&self) -> (usize, usize) {
        (self.defrag.held().0, self.tcp.streams())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn frame_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([192, 0, 2, 53], [198, 51, 100, 7], 64)
            .udp(sport, dport)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    fn demux() -> Demux {
        Demux::new(PortSet::new(&[53]))
    }

    const SRC: SourceRef = SourceRef { file: 0, packet: 1 };
    const RESPONSE_HDR: [u8; 12] = [0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0];
    const QUERY_HDR: [u8; 12] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];

    #[test]
    fn udp_response_is_batched_with_its_meta() {
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        let f = frame_udp(53, 40000, &RESPONSE_HDR);
        d.frame(LinkType::ETHERNET, SRC, Timestamp(7), &f, &mut batch);
        assert_eq!(batch.len(), 1);
        let (meta, bytes) = batch.iter().next().unwrap();
        assert_eq!(bytes, &RESPONSE_HDR);
        assert_eq!(meta.src_ip, "192.0.2.53".parse::<IpAddr>().unwrap());
        assert_eq!((meta.src_port, meta.dst_port), (53, 40000));
        assert_eq!(meta.transport, Transport::Udp);
        assert!(meta.tunnel.is_none() && meta.vlan.is_empty());
        assert_eq!(d.counters.dns_messages, 1);
    }

    #[test]
    fn queries_and_other_ports_are_skipped_before_parsing() {
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        let q = frame_udp(40000, 53, &QUERY_HDR);
        d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &q, &mut batch);
        let other = frame_udp(123, 123, &RESPONSE_HDR);
        d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &other, &mut batch);
        assert!(batch.is_empty());
        assert_eq!(d.counters.not_dns.get(NotDns::Query), 1);
        assert_eq!(d.counters.not_dns.get(NotDns::NotDnsPort), 1);
    }

    #[test]
    fn vxlan_inside_gre_keeps_the_outer_endpoints_and_inner_vlan() {
        // Inner: VLAN 42 Ethernet frame with the DNS response.
        let mut inner = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .single_vlan(etherparse::VlanId::try_new(42).unwrap())
            .ipv4([192, 0, 2, 53], [198, 51, 100, 7], 64)
            .udp(53, 40000)
            .write(&mut inner, &RESPONSE_HDR)
            .unwrap();
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        vx.extend_from_slice(&inner);
        let mut udp_frame = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(50000, PORT_VXLAN)
            .write(&mut udp_frame, &vx)
            .unwrap();
        let mut gre = vec![0x00, 0x00, 0x08, 0x00];
        gre.extend_from_slice(&udp_frame);
        let mut outer = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64)
            .write(&mut outer, etherparse::IpNumber::GRE, &gre)
            .unwrap();
        let mut d = demux();
        let mut batch = PayloadBatch::default();
        d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &outer, &mut batch);
        assert_eq!(batch.len(), 1);
        let (meta, _) = batch.iter().next().unwrap();
        let t = meta.tunnel.unwrap();
        assert_eq!(t.kind, TunnelKind::Gre);
        assert_eq!(t.src, "172.16.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(meta.vlan.ids(), &[42]);
        assert_eq!(meta.src_ip, "192.0.2.53".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn every_truncation_of_a_frame_is_counted_not_panicking() {
        let f = frame_udp(53, 40000, &RESPONSE_HDR);
        for cut in 0..f.len() {
            let mut d = demux();
            let mut batch = PayloadBatch::default();
            d.frame(LinkType::ETHERNET, SRC, Timestamp(0), &f[..cut], &mut batch);
            let c = &d.counters;
            assert_eq!(
                c.not_dns.total() + c.malformed.total() + c.dns_messages,
                1,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn weirds_are_recorded_when_asked() {
        let mut d = Demux::with_limits(PortSet::new(&[53]), DemuxLimits::default(), true);
        let mut batch = PayloadBatch::default();
        let f = frame_udp(53, 40000, &RESPONSE_HDR);
        d.frame(LinkType::ETHERNET, SRC, Timestamp(5), &f[..20], &mut batch);
        assert_eq!(batch.weirds.len(), 1);
        assert_eq!(batch.weirds[0].name, "ipv4_header_invalid");
        assert_eq!(batch.weirds[0].ts, Timestamp(5));
    }
}

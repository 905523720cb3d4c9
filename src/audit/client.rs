//! One question to one server, asked politely and checked strictly.
//!
//! Each try uses a fresh socket bound to port 0 (a random source port the
//! kernel picks) and a fresh random transaction id. A datagram is taken as
//! the answer only when it comes from the address and port asked, carries
//! the id, is a response, and repeats the question (name, type, class); any
//! other is ignored, as an off-path forgery would be. EDNS0 offers a
//! 1232-byte buffer (the DNS flag day 2020 size, no fragmentation) with the
//! DO bit, so signed zones answer with their signatures; a truncated
//! answer is asked again over TCP. Every packet sent waits for the
//! server's rate limit; nothing is sent after the audit's deadline.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

use crate::decode::dns::decode_response;
use crate::model::{DnsResponse, PacketMeta, SourceRef, Timestamp, Transport, VlanStack};

/// The EDNS0 buffer offered: large enough for most answers, small enough
/// never to be fragmented (DNS flag day 2020).
pub const EDNS_BUFFER: u16 = 1232;
/// Largest UDP datagram read; a server may ignore the offered size.
const UDP_READ: usize = 65_535;

/// How questions are asked.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// How long one try waits for its answer.
    pub timeout: Duration,
    /// Tries after the first when a server does not answer.
    pub retries: u32,
    /// Most packets per second sent to one server address.
    pub rate: f64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(2),
            retries: 2,
            rate: 5.0,
        }
    }
}

/// One question, as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Presentation format, without the trailing dot (`.` for the root).
    pub name: String,
    pub qtype: u16,
    /// Recursion desired: set only for resolvers.
    pub recurse: bool,
}

/// A checked answer: the response as the pipeline decodes it, and its
/// wire bytes for the pipeline itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub bytes: Vec<u8>,
    pub response: DnsResponse,
}

impl Answer {
    pub fn meta(&self) -> &PacketMeta {
        &self.response.meta
    }
}

/// Why a question got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("no answer after {tries} tries of {timeout_ms} ms")]
    Timeout { tries: u32, timeout_ms: u128 },
    #[error("{0}")]
    Network(String),
    #[error("no route to the server from the sensor: {0}")]
    NoRoute(String),
    #[error("TCP: {0}")]
    Tcp(String),
    #[error("answer over TCP does not match the question: {0}")]
    TcpMismatch(&'static str),
    #[error("the audit's time limit was reached before it was asked")]
    Deadline,
    #[error("cannot ask for {0:?}: not a domain name")]
    BadName(String),
}

/// Paces packets per server address, across every thread of an audit.
#[derive(Debug)]
struct RateLimit {
    interval: Duration,
    next: Mutex<HashMap<IpAddr, Instant>>,
}

impl RateLimit {
    /// Waits for `server`'s next slot; `false` (without waiting) when that
    /// slot is past `deadline`.
    fn wait(&self, server: IpAddr, deadline: Instant) -> bool {
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return false;
            };
            let now = Instant::now();
            let slot = next.get(&server).copied().unwrap_or(now).max(now);
            if slot > deadline {
                return false;
            }
            next.insert(server, slot + self.interval);
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
        true
    }
}

/// What an audit asked, for its summary.
#[derive(Debug, Default)]
pub struct Tally {
    /// Questions sent; each is answered or failed.
    pub asked: AtomicU64,
    pub answered: AtomicU64,
    pub failed: AtomicU64,
    /// Questions not sent (time up, or given up on the server).
    pub not_asked: AtomicU64,
    /// Answers that were no answer about the zone (an error code, or no
    /// authority from an authoritative server): counted answered here,
    /// failed in the audit's result.
    pub unusable: AtomicU64,
    /// Datagrams that were not the answer (another source, id or
    /// question): ignored, counted.
    pub ignored: AtomicU64,
}

/// Asks questions: shared by every thread of one audit.
#[derive(Debug)]
pub struct Client {
    options: ClientOptions,
    limit: RateLimit,
    deadline: Instant,
    pub tally: Tally,
}

impl Client {
    pub fn new(options: ClientOptions, deadline: Instant) -> Client {
        let rate = if options.rate.is_finite() && options.rate > 0.0 {
            options.rate
        } else {
            ClientOptions::default().rate
        };
        Client {
            limit: RateLimit {
                interval: Duration::from_secs_f64(1.0 / rate),
                next: Mutex::new(HashMap::new()),
            },
            options,
            deadline,
            tally: Tally::default(),
        }
    }

    /// Asks `server` the question: over UDP, again over TCP when the
    /// answer is truncated.
    pub fn ask(&self, server: SocketAddr, q: &Question) -> Result<Answer, QueryError> {
        let result = self.ask_udp(server, q).and_then(|a| {
            if a.response.flags.tc {
                self.ask_tcp(server, q)
            } else {
                Ok(a)
            }
        });
        // Time was up before a packet went out: the question was not asked.
        if result == Err(QueryError::Deadline) {
            self.tally.not_asked.fetch_add(1, Ordering::Relaxed);
            return result;
        }
        self.tally.asked.fetch_add(1, Ordering::Relaxed);
        let counter = if result.is_ok() {
            &self.tally.answered
        } else {
            &self.tally.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn ask_udp(&self, server: SocketAddr, q: &Question) -> Result<Answer, QueryError> {
        let tries = self.options.retries.saturating_add(1);
        let mut sent = 0;
        let mut last_network = None;
        for _ in 0..tries {
            if !self.limit.wait(server.ip(), self.deadline) {
                if sent == 0 {
                    return Err(QueryError::Deadline);
                }
                break;
            }
            let id: u16 = rand::random();
            let query = encode_query(q, id)?;
            let socket = UdpSocket::bind(unspecified(server))
                .map_err(|e| QueryError::Network(format!("cannot open a UDP socket: {e}")))?;
            // Connected: the kernel drops datagrams from other sources
            // too, and reports an unreachable port instead of a timeout.
            if let Err(e) = socket.connect(server).and_then(|()| socket.send(&query)) {
                // No route at all (no IPv6 here, say): another try cannot
                // help, and the caller need not ask this address again.
                if e.kind() == std::io::ErrorKind::NetworkUnreachable {
                    return Err(QueryError::NoRoute(e.to_string()));
                }
                last_network = Some(QueryError::Network(format!("cannot send: {e}")));
                continue;
            }
            sent += 1;
            match self.receive_udp(&socket, server, q, id)? {
                Some(a) => return Ok(a),
                None => continue,
            }
        }
        Err(last_network.unwrap_or(QueryError::Timeout {
            tries: sent,
            timeout_ms: self.options.timeout.as_millis(),
        }))
    }

    /// Reads datagrams until the answer or the try's timeout (`None`).
    fn receive_udp(
        &self,
        socket: &UdpSocket,
        server: SocketAddr,
        q: &Question,
        id: u16,
    ) -> Result<Option<Answer>, QueryError> {
        let local = socket
            .local_addr()
            .map_err(|e| QueryError::Network(e.to_string()))?;
        let until = Instant::now() + self.options.timeout;
        let mut buf = vec![0u8; UDP_READ];
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            socket
                .set_read_timeout(Some(until - now))
                .map_err(|e| QueryError::Network(e.to_string()))?;
            let (len, from) = match socket.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                // ICMP port unreachable comes back as a refused read.
                Err(e) => return Err(QueryError::Network(format!("no answer: {e}"))),
            };
            let bytes = buf.get(..len).unwrap_or_default();
            if from != server {
                self.tally.ignored.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            match check_answer(bytes, server, local, Transport::Udp, q, id) {
                Ok(a) => return Ok(Some(a)),
                Err(_) => {
                    self.tally.ignored.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn ask_tcp(&self, server: SocketAddr, q: &Question) -> Result<Answer, QueryError> {
        if !self.limit.wait(server.ip(), self.deadline) {
            return Err(QueryError::Deadline);
        }
        let id: u16 = rand::random();
        let query = encode_query(q, id)?;
        let tcp = |e: std::io::Error| QueryError::Tcp(e.to_string());
        let mut stream = TcpStream::connect_timeout(&server, self.options.timeout).map_err(tcp)?;
        stream
            .set_read_timeout(Some(self.options.timeout))
            .map_err(tcp)?;
        stream
            .set_write_timeout(Some(self.options.timeout))
            .map_err(tcp)?;
        let len = u16::try_from(query.len()).map_err(|_| QueryError::BadName(q.name.clone()))?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        stream.write_all(&framed).map_err(tcp)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).map_err(tcp)?;
        let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut bytes).map_err(tcp)?;
        let local = stream.local_addr().map_err(tcp)?;
        check_answer(&bytes, server, local, Transport::Tcp, q, id).map_err(QueryError::TcpMismatch)
    }
}

/// The wildcard address of `server`'s family, port 0: the kernel picks a
/// random ephemeral port.
fn unspecified(server: SocketAddr) -> SocketAddr {
    match server {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// The query's wire bytes: one question, no recursion unless asked, EDNS0
/// with the 1232-byte buffer and DO.
pub fn encode_query(q: &Question, id: u16) -> Result<Vec<u8>, QueryError> {
    let fqdn = if q.name == "." || q.name.ends_with('.') {
        q.name.clone()
    } else {
        format!("{}.", q.name)
    };
    let name = Name::from_ascii(&fqdn).map_err(|_| QueryError::BadName(q.name.clone()))?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = q.recurse;
    msg.add_query(Query::query(name, RecordType::from(q.qtype)));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(true);
    msg.set_edns(edns);
    msg.to_vec()
        .map_err(|_| QueryError::BadName(q.name.clone()))
}

/// `bytes` decoded as the pipeline decodes it, if it is the answer to
/// `q` asked with `id`: a response, with the id, repeating the question.
pub fn check_answer(
    bytes: &[u8],
    server: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    q: &Question,
    id: u16,
) -> Result<Answer, &'static str> {
    let meta = PacketMeta {
        ts: now(),
        src_ip: server.ip(),
        src_port: server.port(),
        dst_ip: local.ip(),
        dst_port: local.port(),
        transport,
        source: SourceRef { file: 0, packet: 0 },
        vlan: VlanStack::default(),
        tunnel: None,
        // Unknown to a socket; no evidence is drawn from it.
        ip_ttl: 0,
    };
    let is_response = bytes.get(2).is_some_and(|b| b & 0x80 != 0);
    if !is_response {
        return Err("not a response");
    }
    let response = decode_response(meta, bytes).map_err(|_| "shorter than a DNS header")?;
    if response.txid != id {
        return Err("another transaction id");
    }
    let Some(asked) = &response.question else {
        return Err("no question");
    };
    let same_name = asked
        .name
        .trim_end_matches('.')
        .eq_ignore_ascii_case(&q.name)
        || (q.name == "." && &*asked.name == ".");
    if !same_name || asked.qtype != q.qtype || asked.qclass != 1 {
        return Err("another question");
    }
    Ok(Answer {
        bytes: bytes.to_vec(),
        response,
    })
}

/// The wall clock as a packet time.
pub fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(name: &str, qtype: u16) -> Question {
        Question {
            name: name.into(),
            qtype,
            recurse: false,
        }
    }

    /// The query `q` turned into a response with `id` and `tc`, one A
    /// record in the answer.
    fn response_to(query: &[u8], id: u16, tc: bool) -> Vec<u8> {
        let mut m = Message::from_vec(query).unwrap();
        m.metadata.id = id;
        m.metadata.message_type = MessageType::Response;
        m.metadata.truncation = tc;
        m.metadata.authoritative = true;
        if !tc {
            let name = m.queries[0].name().clone();
            m.add_answer(hickory_proto::rr::Record::from_rdata(
                name,
                300,
                hickory_proto::rr::RData::A("192.0.2.1".parse().unwrap()),
            ));
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn the_query_offers_edns_with_1232_bytes_and_do_and_no_recursion() {
        let bytes = encode_query(&question("www.example.org", 1), 0x1234).unwrap();
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!(m.metadata.id, 0x1234);
        assert!(!m.metadata.recursion_desired);
        let edns = m.edns.as_ref().unwrap();
        assert_eq!(edns.max_payload(), 1232);
        assert!(edns.flags().dnssec_ok);
        assert_eq!(m.queries[0].name().to_ascii(), "www.example.org.");
        assert!(encode_query(&question("a..b", 1), 1).is_err());
    }

    #[test]
    fn only_the_answer_to_the_question_asked_is_taken() {
        let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
        let local: SocketAddr = "192.0.2.1:40000".parse().unwrap();
        let q = question("www.example.org", 1);
        let query = encode_query(&q, 7).unwrap();
        let ok = response_to(&query, 7, false);
        let a = check_answer(&ok, server, local, Transport::Udp, &q, 7).unwrap();
        assert_eq!(a.response.answers.len(), 1);
        assert_eq!(a.meta().src_ip, server.ip());
        assert_eq!(a.meta().dst_port, 40000);
        let check = |bytes: &[u8], q: &Question| {
            check_answer(bytes, server, local, Transport::Udp, q, 7).map(|_| ())
        };
        assert_eq!(
            check(&response_to(&query, 8, false), &q),
            Err("another transaction id")
        );
        assert_eq!(check(&query, &q), Err("not a response"));
        assert_eq!(
            check(&ok, &question("mail.example.org", 1)),
            Err("another question")
        );
        assert_eq!(
            check(&ok, &question("www.example.org", 28)),
            Err("another question")
        );
        // Case may differ (0x20 randomisation, servers that normalise).
        assert!(check(&ok, &question("WWW.Example.ORG", 1)).is_ok());
        assert!(check(&ok[..5], &q).is_err());
    }

    /// A server on a local socket that answers each query `answers` times:
    /// first from another socket (which must be ignored), then with a
    /// wrong id, then properly; truncated when `tc`.
    fn local_server(tc: bool) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpListener::bind(sock.local_addr().unwrap()).unwrap();
        let addr = sock.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (n, from) = sock.recv_from(&mut buf).unwrap();
            let query = buf[..n].to_vec();
            let id = u16::from_be_bytes([query[0], query[1]]);
            other
                .send_to(&response_to(&query, id, false), from)
                .unwrap();
            sock.send_to(&response_to(&query, id ^ 1, false), from)
                .unwrap();
            sock.send_to(&response_to(&query, id, tc), from).unwrap();
            if tc {
                let (mut s, _) = tcp.accept().unwrap();
                let mut len = [0u8; 2];
                s.read_exact(&mut len).unwrap();
                let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                s.read_exact(&mut q).unwrap();
                let id = u16::from_be_bytes([q[0], q[1]]);
                let r = response_to(&q, id, false);
                let mut framed = (r.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&r);
                s.write_all(&framed).unwrap();
            }
        });
        (addr, h)
    }

    #[test]
    fn forged_datagrams_are_ignored_and_truncation_falls_back_to_tcp() {
        for tc in [false, true] {
            let (server, h) = local_server(tc);
            let client = Client::new(
                ClientOptions {
                    timeout: Duration::from_secs(5),
                    retries: 0,
                    rate: 100.0,
                },
                Instant::now() + Duration::from_secs(30),
            );
            let a = client.ask(server, &question("www.example.org", 1)).unwrap();
            h.join().unwrap();
            assert_eq!(a.response.answers.len(), 1);
            assert!(!a.response.flags.tc);
            let expected = if tc { Transport::Tcp } else { Transport::Udp };
            assert_eq!(a.meta().transport, expected);
            // The datagram from another socket never reaches a connected
            // socket; the one with another id is read and ignored.
            assert_eq!(client.tally.ignored.load(Ordering::Relaxed), 1);
            assert_eq!(client.tally.answered.load(Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn a_silent_server_times_out_after_its_retries_and_the_deadline_stops_asking() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap();
        let client = Client::new(
            ClientOptions {
                timeout: Duration::from_millis(100),
                retries: 1,
                rate: 100.0,
            },
            Instant::now() + Duration::from_secs(30),
        );
        let e = client.ask(server, &question("example.org", 6)).unwrap_err();
        assert_eq!(
            e,
            QueryError::Timeout {
                tries: 2,
                timeout_ms: 100
            }
        );
        let mut buf = [0u8; 512];
        silent.set_nonblocking(true).unwrap();
        let mut received = 0;
        while silent.recv_from(&mut buf).is_ok() {
            received += 1;
        }
        assert_eq!(received, 2, "one datagram per try");
        // A port nobody listens on answers at once with ICMP.
        drop(silent);
        let e = client.ask(server, &question("example.org", 6)).unwrap_err();
        assert!(matches!(e, QueryError::Network(_)), "{e:?}");
        let late = Client::new(ClientOptions::default(), Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            late.ask(server, &question("example.org", 6)),
            Err(QueryError::Deadline)
        );
        assert_eq!(late.tally.not_asked.load(Ordering::Relaxed), 1);
        assert_eq!(late.tally.asked.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_rate_limit_spaces_packets_to_one_server() {
        let limit = RateLimit {
            interval: Duration::from_millis(50),
            next: Mutex::new(HashMap::new()),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limit.wait(a, deadline));
        }
        assert!(limit.wait(b, deadline));
        // Three packets to one server: two intervals; the other server's
        // first costs nothing more.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(100), "{took:?}");
        let short = Instant::now() + Duration::from_millis(10);
        assert!(!limit.wait(a, short), "a slot past the deadline is refused");
    }
}

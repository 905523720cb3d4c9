//! Connections to a syslog receiver: UDP (RFC 5426), TCP (RFC 6587) and
//! TLS (RFC 5425), and how messages are framed on each.
//!
//! Streams are non-blocking once connected, so the delivery thread never
//! waits on a slow receiver: it keeps taking alerts in and spooling them
//! while the socket drains. A stream also says how much of what was
//! written the receiver's TCP has acknowledged (`SIOCOUTQ`), which is what
//! lets the delivery thread release a message only once it has arrived.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::{Framing, Proto, SyslogSpec};

/// How long a connection attempt (with its TLS handshake) may take at
/// most; less when the flush timeout is shorter.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// RFC 5426 §3.2: without a known path MTU, IPv4 messages stay within 480
/// octets and IPv6 within 1180.
const UDP_FALLBACK_V4: usize = 480;
const UDP_FALLBACK_V6: usize = 1180;
/// The largest UDP payload over IPv4.
const UDP_MAX: usize = 65_507;

/// A connected transport.
pub(super) enum Conn {
    Udp(UdpConn),
    Stream(StreamConn),
}

pub(super) struct UdpConn {
    socket: UdpSocket,
    max_message: usize,
}

/// TCP or TLS, with the bytes on their way out.
pub(super) struct StreamConn {
    tcp: TcpStream,
    tls: Option<Box<ClientConnection>>,
    framing: Framing,
    /// Bytes queued for the socket (plain TCP) or for rustls (TLS).
    out: Vec<u8>,
    out_at: usize,
    /// Bytes handed to the kernel since the connection was made.
    written: u64,
}

/// Opens the transport `spec` names. Blocking: connecting and the TLS
/// handshake together take at most `timeout`.
pub(super) fn connect(
    spec: &SyslogSpec,
    tls: Option<&Arc<ClientConfig>>,
    timeout: Duration,
) -> io::Result<Conn> {
    let addrs: Vec<SocketAddr> = (spec.host.as_str(), spec.port).to_socket_addrs()?.collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "host has no address");
    for addr in addrs {
        let attempt = match spec.proto {
            Proto::Udp => connect_udp(addr, spec.udp_max).map(Conn::Udp),
            Proto::Tcp | Proto::Tls => connect_stream(addr, spec, tls, timeout).map(Conn::Stream),
        };
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn connect_udp(addr: SocketAddr, udp_max: Option<usize>) -> io::Result<UdpConn> {
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(bind)?;
    socket.connect(addr)?;
    let max_message = match udp_max {
        Some(m) => m.min(UDP_MAX),
        None => path_mtu_payload(&socket, addr.is_ipv4()).unwrap_or(if addr.is_ipv4() {
            UDP_FALLBACK_V4
        } else {
            UDP_FALLBACK_V6
        }),
    };
    Ok(UdpConn {
        socket,
        max_message,
    })
}

/// The largest UDP payload that fits the path MTU the kernel knows for
/// the connected socket.
fn path_mtu_payload(socket: &UdpSocket, v4: bool) -> Option<usize> {
    let (level, name, overhead) = if v4 {
        (libc::IPPROTO_IP, libc::IP_MTU, 20 + 8)
    } else {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU, 40 + 8)
    };
    let mut mtu: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `mtu` and `len` are valid for writes and `len` holds the size
    // of `mtu`, as getsockopt requires.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw mut mtu).cast(),
            &raw mut len,
        )
    };
    let mtu = usize::try_from(mtu).ok().filter(|_| rc == 0)?;
    Some(mtu.checked_sub(overhead)?.min(UDP_MAX))
}

fn connect_stream(
    addr: SocketAddr,
    spec: &SyslogSpec,
    tls: Option<&Arc<ClientConfig>>,
    timeout: Duration,
) -> io::Result<StreamConn> {
    let deadline = Instant::now() + timeout;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)?;
    tcp.set_nodelay(true)?;
    let tls = match (spec.proto, tls) {
        (Proto::Tls, Some(config)) => {
            let name = ServerName::try_from(spec.server_name.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let mut conn = ClientConnection::new(Arc::clone(config), name)
                .map_err(|e| io::Error::other(e.to_string()))?;
            handshake(&mut conn, &mut tcp, deadline, timeout)
                .map_err(|e| handshake_failed(addr, timeout, &e))?;
            // Batches are bounded by the delivery thread; rustls must take
            // a whole one.
            conn.set_buffer_limit(None);
            Some(Box::new(conn))
        }
        (Proto::Tls, None) => {
            return Err(io::Error::other(
                "TLS requested without a TLS configuration",
            ));
        }
        _ => None,
    };
    tcp.set_nonblocking(true)?;
    Ok(StreamConn {
        tcp,
        tls,
        framing: spec.framing,
        out: Vec::with_capacity(256 * 1024),
        out_at: 0,
        written: 0,
    })
}

/// Runs the TLS handshake until `deadline`: a receiver that accepts and
/// never answers (a plain TCP listener waits for the client to speak
/// syslog) must not hold the sensor for longer.
fn handshake(
    conn: &mut ClientConnection,
    tcp: &mut TcpStream,
    deadline: Instant,
    timeout: Duration,
) -> io::Result<()> {
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, no_answer(timeout)));
        }
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        conn.complete_io(&mut *tcp)?;
    }
    Ok(())
}

fn no_answer(timeout: Duration) -> String {
    format!(
        "no TLS answer within {:.1} s (is it a plain TCP listener?)",
        timeout.as_secs_f64()
    )
}

/// What went wrong in a handshake, said as such: a read timeout alone
/// reads "Resource temporarily unavailable".
fn handshake_failed(addr: SocketAddr, timeout: Duration, e: &io::Error) -> io::Error {
    let why = match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => no_answer(timeout),
        io::ErrorKind::UnexpectedEof => "the receiver closed the connection".to_string(),
        io::ErrorKind::InvalidData => format!("{e} (is it a TLS listener?)"),
        _ => e.to_string(),
    };
    io::Error::new(e.kind(), format!("TLS handshake with {addr} failed: {why}"))
}

impl UdpConn {
    /// Sends one message as one datagram, cut to the size limit at a
    /// character boundary (RFC 5426 §3.2). Returns whether it was cut.
    pub(super) fn send(&self, message: &[u8]) -> io::Result<bool> {
        let cut = truncate_utf8(message, self.max_message);
        self.socket.send(cut)?;
        Ok(cut.len() < message.len())
    }
}

/// The longest prefix of at most `max` bytes that does not end inside a
/// UTF-8 sequence.
fn truncate_utf8(m: &[u8], max: usize) -> &[u8] {
    if m.len() <= max {
        return m;
    }
    let mut end = max;
    // Continuation bytes are 10xxxxxx: back up to the start of the
    // character that would be split.
    while end > 0 && m.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    m.get(..end).unwrap_or_default()
}

impl StreamConn {
    /// Whether bytes are still waiting for the socket.
    pub(super) fn has_output(&self) -> bool {
        self.out_at < self.out.len() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Queues messages, framed; only when `has_output()` is false, so that
    /// the offset returned is where they end on the wire.
    pub(super) fn queue<'a>(
        &mut self,
        messages: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        self.out.clear();
        self.out_at = 0;
        for m in messages {
            match self.framing {
                Framing::OctetCounting => {
                    let _ = write!(self.out, "{} ", m.len());
                    self.out.extend_from_slice(m);
                }
                Framing::NonTransparent => {
                    self.out.extend_from_slice(m);
                    self.out.push(b'\n');
                }
            }
        }
        if let Some(tls) = &mut self.tls {
            // rustls encrypts into its own buffer; `pump` writes it out.
            tls.writer().write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Writes as much as the socket takes now. Returns the bytes handed to
    /// the kernel so far when everything queued is out, `None` while some
    /// is left.
    pub(super) fn pump(&mut self) -> io::Result<Option<u64>> {
        loop {
            let n = match &mut self.tls {
                Some(tls) => {
                    if !tls.wants_write() {
                        return Ok(Some(self.written));
                    }
                    let mut counted = Counted {
                        inner: &mut self.tcp,
                        n: 0,
                    };
                    let r = tls.write_tls(&mut counted);
                    self.written += counted.n;
                    r
                }
                None => {
                    let Some(rest) = self.out.get(self.out_at..).filter(|r| !r.is_empty()) else {
                        return Ok(Some(self.written));
                    };
                    let r = self.tcp.write(rest);
                    if let Ok(n) = r {
                        self.out_at += n;
                        self.written += n as u64;
                    }
                    r
                }
            };
            match n {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Bytes handed to the kernel that the receiver's TCP has acknowledged.
    pub(super) fn acked(&self) -> io::Result<u64> {
        let mut unacked: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ on a TCP socket) writes one c_int
        // through the pointer, which is valid for that write.
        let rc = unsafe { libc::ioctl(self.tcp.as_raw_fd(), libc::TIOCOUTQ, &raw mut unacked) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let unacked = u64::try_from(unacked).unwrap_or(0);
        Ok(self.written.saturating_sub(unacked))
    }

    /// Fails when the receiver has closed or reset the connection. A
    /// syslog receiver never sends data (TLS aside, whose records rustls
    /// consumes), so readable means closed; caught before the next write,
    /// a closed connection swallows nothing.
    pub(super) fn check_alive(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            let r = match &mut self.tls {
                Some(tls) => match tls.read_tls(&mut self.tcp) {
                    Ok(0) => Ok(0),
                    Ok(n) => {
                        let state = tls
                            .process_new_packets()
                            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                        if state.peer_has_closed() {
                            return Err(closed());
                        }
                        // Application data from a syslog receiver: discard.
                        while tls.reader().read(&mut buf).is_ok_and(|n| n > 0) {}
                        Ok(n)
                    }
                    Err(e) => Err(e),
                },
                None => self.tcp.read(&mut buf),
            };
            match r {
                Ok(0) => return Err(closed()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Says goodbye (TLS close_notify) and closes.
    pub(super) fn close(mut self) {
        if let Some(tls) = &mut self.tls {
            tls.send_close_notify();
            let _ = self.tcp.set_nonblocking(false);
            let _ = self.tcp.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = tls.write_tls(&mut self.tcp);
        }
        let _ = self.tcp.shutdown(std::net::Shutdown::Both);
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "receiver closed the connection",
    )
}

/// Counts the bytes a writer takes.
struct Counted<'a, W: Write> {
    inner: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole() {
        let m = "aé€𝄞".as_bytes(); // 1 + 2 + 3 + 4 bytes
        assert_eq!(truncate_utf8(m, 100), m);
        assert_eq!(truncate_utf8(m, 1), b"a");
        assert_eq!(truncate_utf8(m, 2), b"a");
        assert_eq!(truncate_utf8(m, 3), "aé".as_bytes());
        assert_eq!(truncate_utf8(m, 5), "aé".as_bytes());
        assert_eq!(truncate_utf8(m, 6), "aé€".as_bytes());
        assert_eq!(truncate_utf8(m, 9), "aé€".as_bytes());
    }
}

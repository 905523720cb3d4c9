//! A real rsyslog as the SIEM: started by the test on 127.0.0.1 high
//! ports (of the host, or of a namespace the test made), with UDP, TCP,
//! TLS and TLS-with-client-certificate inputs, writing every message it
//! receives, prefixed by the input's name, one per line. A CA and
//! certificates are made for each receiver with rcgen.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The time `value` holds, read with the Java `SimpleDateFormat` pattern
/// `pattern` as QRadar reads LEEF's `devTime` with `devTimeFormat`:
/// strictly, field by field (the letters LEEF times use: `MMM` English
/// month abbreviation, `dd` `HH` `mm` `ss` two digits, `yyyy` four, `SSS`
/// three, `z` a zone name of UTC or GMT; anything else literal). `None`
/// when the value does not match the pattern exactly.
pub fn parse_java_time(pattern: &str, value: &str) -> Option<jiff::Timestamp> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut rest = value;
    let (mut year, mut month, mut day) = (None, None, None);
    let (mut hour, mut minute, mut second, mut milli, mut zone) = (None, None, None, None, false);
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        let run = p[i..].iter().take_while(|x| **x == c).count();
        i += run;
        let mut digits = |n: usize| -> Option<i64> {
            let d = rest.get(..n)?;
            if !d.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            rest = &rest[n..];
            d.parse().ok()
        };
        match (c, run) {
            ('M', 3) => {
                let m = MONTHS.iter().position(|m| rest.starts_with(m))?;
                rest = &rest[3..];
                month = Some(m as i64 + 1);
            }
            ('d', 2) => day = Some(digits(2)?),
            ('y', 4) => year = Some(digits(4)?),
            ('H', 2) => hour = Some(digits(2)?),
            ('m', 2) => minute = Some(digits(2)?),
            ('s', 2) => second = Some(digits(2)?),
            ('S', 3) => milli = Some(digits(3)?),
            ('z', 1) => {
                let z = ["UTC", "GMT"].iter().find(|z| rest.starts_with(**z))?;
                rest = &rest[z.len()..];
                zone = true;
            }
            (c, _) if !c.is_ascii_alphabetic() => {
                for _ in 0..run {
                    rest = rest.strip_prefix(c)?;
                }
            }
            _ => return None,
        }
    }
    if !rest.is_empty() || !zone {
        return None;
    }
    let date = jiff::civil::Date::new(
        i16::try_from(year?).ok()?,
        i8::try_from(month?).ok()?,
        i8::try_from(day?).ok()?,
    )
    .ok()?;
    let time = jiff::civil::Time::new(
        i8::try_from(hour?).ok()?,
        i8::try_from(minute?).ok()?,
        i8::try_from(second?).ok()?,
        i32::try_from(milli? * 1_000_000).ok()?,
    )
    .ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(time))
        .ok()
}

/// One message as rsyslog received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// `udp`, `tcp`, `tls` or `mtls`.
    pub input: String,
    /// The message without framing (rsyslog's `%rawmsg%`).
    pub raw: String,
}

pub struct Rsyslog {
    pub dir: PathBuf,
    pub udp: u16,
    pub tcp: u16,
    /// A second plain TCP input, for one more body format.
    pub tcp2: u16,
    pub tls: u16,
    /// TLS that requires a client certificate signed by the CA.
    pub mtls: u16,
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// Runs rsyslogd inside this namespace (`ip netns exec`).
    netns: Option<String>,
    child: Option<Child>,
}

/// A port free on 127.0.0.1 for both TCP and UDP right now.
fn free_port() -> u16 {
    for _ in 0..100 {
        let t = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1");
}

fn write_certs(dir: &Path) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "dnsentry test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![usage];
        p.use_authority_key_identifier_extension = true;
        let cert = p.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server, server_key) = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client, client_key) = leaf(
        vec!["sensor.test".into()],
        "sensor.test",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server).unwrap();
    std::fs::write(dir.join("server.key"), server_key).unwrap();
    std::fs::write(dir.join("client.pem"), client).unwrap();
    std::fs::write(dir.join("client.key"), client_key).unwrap();
}

impl Rsyslog {
    /// Writes the configuration and certificates into `dir` and starts
    /// rsyslogd.
    pub fn start(dir: &Path) -> Rsyslog {
        Self::start_in(dir, None)
    }

    pub fn start_in(dir: &Path, netns: Option<&str>) -> Rsyslog {
        let dir = dir.join("rsyslog");
        std::fs::create_dir_all(dir.join("work")).unwrap();
        write_certs(&dir);
        // Inside a fresh namespace every port is free; on the host, ask.
        let mut r = Rsyslog {
            udp: free_port(),
            tcp: free_port(),
            tcp2: free_port(),
            tls: free_port(),
            mtls: free_port(),
            ca: dir.join("ca.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            netns: netns.map(str::to_string),
            dir,
            child: None,
        };
        let d = r.dir.display();
        // Control characters are kept as they arrive, so that a message
        // that smuggled one in shows it; 64k messages, so nothing the
        // sensor sends is cut here.
        let conf = format!(
            r#"global(workDirectory="{d}/work"
       parser.escapeControlCharactersOnReceive="off"
       maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{d}/ca.pem"
       defaultNetstreamDriverCertFile="{d}/server.pem"
       defaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imudp")
module(load="imtcp" maxSessions="200")
input(type="imudp" address="127.0.0.1" port="{udp}" name="udp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="{tcp2}" name="tcp2")
input(type="imtcp" address="127.0.0.1" port="{tls}" name="tls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{mtls}" name="mtls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
template(name="raw" type="string" string="%inputname% %rawmsg%\n")
*.* action(type="omfile" file="{d}/received.log" template="raw")
"#,
            udp = r.udp,
            tcp = r.tcp,
            tcp2 = r.tcp2,
            tls = r.tls,
            mtls = r.mtls,
        );
        std::fs::write(r.dir.join("rsyslog.conf"), conf).unwrap();
        r.restart();
        r
    }

    fn command(&self) -> Command {
        let rsyslogd = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("rsyslogd (Debian's rsyslog and rsyslog-gnutls, installed by .ci/run) must be installed");
        let mut c = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, rsyslogd]);
                c
            }
            None => Command::new(rsyslogd),
        };
        c.arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"));
        c
    }

    /// Starts rsyslogd (again) and waits until its TCP inputs listen.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "rsyslog is already running");
        let child = self
            .command()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("rsyslogd.stderr")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if self.listening() {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait().unwrap()
            {
                panic!(
                    "rsyslogd exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("rsyslogd.stderr")).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "rsyslogd did not listen within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the TCP inputs accept connections. In a namespace the
    /// test cannot connect from here, so it asks `ss` there.
    fn listening(&self) -> bool {
        match &self.netns {
            None => [self.tcp, self.tcp2, self.tls, self.mtls].iter().all(|p| {
                TcpStream::connect_timeout(
                    &SocketAddr::from(([127, 0, 0, 1], *p)),
                    Duration::from_millis(200),
                )
                .is_ok()
            }),
            Some(ns) => {
                let out = Command::new("ip")
                    .args(["netns", "exec", ns, "ss", "-ltn"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                [self.tcp, self.tcp2, self.tls, self.mtls]
                    .iter()
                    .all(|p| text.contains(&format!("127.0.0.1:{p} ")))
            }
        }
    }

    /// Stops rsyslogd (SIGTERM, as an administrator would) and waits for
    /// it to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // `ip netns exec` execs rsyslogd, so the child's pid is rsyslogd's.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "rsyslogd did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(self.dir.join("received.log")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let (input, raw) = l.split_once(' ').unwrap_or((l, ""));
                Received {
                    input: input.to_string(),
                    raw: raw.to_string(),
                }
            })
            .collect()
    }

    /// Waits until `done` holds for what was received.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            if start.elapsed() > timeout {
                panic!(
                    "rsyslog did not receive what was expected within {timeout:?}; it has {} messages",
                    got.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An RFC 5424 message taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc5424 {
    pub pri: u8,
    pub timestamp: String,
    pub hostname: String,
    pub app: String,
    pub procid: String,
    pub msgid: String,
    /// SD-PARAMs of the one SD-ELEMENT, unescaped, in order.
    pub sd_id: String,
    pub sd: Vec<(String, String)>,
    pub msg: String,
}

/// Parses RFC 5424 strictly: exactly one SD-ELEMENT, every PARAM-VALUE
/// escaped as §6.3.3 says. Panics with the message on anything else.
pub fn parse_5424(m: &str) -> Rfc5424 {
    let fail = |why: &str| -> ! { panic!("not RFC 5424 ({why}): {m:?}") };
    let rest = m.strip_prefix('<').unwrap_or_else(|| fail("no PRI"));
    let (pri, rest) = rest.split_once('>').unwrap_or_else(|| fail("PRI"));
    let rest = rest.strip_prefix("1 ").unwrap_or_else(|| fail("VERSION"));
    let mut parts = rest.splitn(6, ' ');
    let mut next = |what| parts.next().unwrap_or_else(|| fail(what)).to_string();
    let timestamp = next("TIMESTAMP");
    let hostname = next("HOSTNAME");
    let app = next("APP-NAME");
    let procid = next("PROCID");
    let msgid = next("MSGID");
    let rest = next("SD");
    let sd_body = rest.strip_prefix('[').unwrap_or_else(|| fail("SD-ELEMENT"));
    let (sd_id, mut params) = sd_body.split_once(' ').unwrap_or_else(|| fail("SD-ID"));
    let mut sd = Vec::new();
    let msg = loop {
        let (name, after) = params.split_once("=\"").unwrap_or_else(|| fail("PARAM"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, c @ ('"' | '\\' | ']'))) => value.push(c),
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => fail("escape at end"),
                },
                Some((i, '"')) => break i,
                Some((_, ']')) => fail("unescaped ] in PARAM-VALUE"),
                Some((_, c)) => value.push(c),
                None => fail("unterminated PARAM-VALUE"),
            }
        };
        sd.push((name.to_string(), value));
        let after = &after[end + 1..];
        if let Some(more) = after.strip_prefix(' ') {
            params = more;
        } else if let Some(msg) = after.strip_prefix("] ") {
            break msg.to_string();
        } else {
            fail("after PARAM");
        }
    };
    Rfc5424 {
        pri: pri.parse().unwrap_or_else(|_| fail("PRI value")),
        timestamp,
        hostname,
        app,
        procid,
        msgid,
        sd_id: sd_id.to_string(),
        sd,
        msg,
    }
}

/// An RFC 3164 message: PRI, TIMESTAMP, HOSTNAME, TAG and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc3164 {
    pub pri: u8,
    pub timestamp: String,
    pub hostname: String,
    pub tag: String,
    pub msg: String,
}

pub fn parse_3164(m: &str) -> Rfc3164 {
    let fail = |why: &str| -> ! { panic!("not RFC 3164 ({why}): {m:?}") };
    let rest = m.strip_prefix('<').unwrap_or_else(|| fail("no PRI"));
    let (pri, rest) = rest.split_once('>').unwrap_or_else(|| fail("PRI"));
    // "Mmm dd hh:mm:ss": 15 characters.
    let timestamp = rest.get(..15).unwrap_or_else(|| fail("TIMESTAMP"));
    let rest = rest.get(16..).unwrap_or_else(|| fail("after TIMESTAMP"));
    let (hostname, rest) = rest.split_once(' ').unwrap_or_else(|| fail("HOSTNAME"));
    let (tag, msg) = rest.split_once(": ").unwrap_or_else(|| fail("TAG"));
    Rfc3164 {
        pri: pri.parse().unwrap_or_else(|_| fail("PRI value")),
        timestamp: timestamp.to_string(),
        hostname: hostname.to_string(),
        tag: tag.to_string(),
        msg: msg.to_string(),
    }
}

/// A CEF:0 record: the seven header fields and the extension map, both
/// unescaped. Panics on an unescaped `|` or `=` where none may be.
pub fn parse_cef(m: &str) -> (Vec<String>, Vec<(String, String)>) {
    let fail = |why: &str| -> ! { panic!("not CEF ({why}): {m:?}") };
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = m.chars();
    while header.len() < 7 {
        match chars.next() {
            Some('\\') => field.push(chars.next().unwrap_or_else(|| fail("escape at end"))),
            Some('|') => header.push(std::mem::take(&mut field)),
            Some(c) => field.push(c),
            None => fail("short header"),
        }
    }
    let ext: String = chars.collect();
    // Keys are [A-Za-z0-9]+; a value runs to the space before the next
    // unescaped `=`'s key.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut key = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut chars = ext.chars().peekable();
    while let Some(c) = chars.next() {
        if !in_value {
            if c == '=' {
                in_value = true;
            } else {
                key.push(c);
            }
            continue;
        }
        match c {
            '\\' => match chars.next() {
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some(e) => value.push(e),
                None => fail("escape at end"),
            },
            '=' => fail("unescaped = in a value"),
            ' ' => {
                // Is this space followed by `key=`?
                let ahead: String = chars
                    .clone()
                    .take_while(|c| *c != ' ' && *c != '=')
                    .collect();
                let after = chars.clone().nth(ahead.chars().count());
                if !ahead.is_empty()
                    && ahead.chars().all(|c| c.is_ascii_alphanumeric())
                    && after == Some('=')
                {
                    pairs.push((std::mem::take(&mut key), std::mem::take(&mut value)));
                    in_value = false;
                } else {
                    value.push(' ');
                }
            }
            c => value.push(c),
        }
    }
    if in_value {
        pairs.push((key, value));
    }
    (header, pairs)
}

/// A LEEF 2.0 record with a tab delimiter: header fields and attributes.
pub fn parse_leef(m: &str) -> (Vec<String>, Vec<(String, String)>) {
    let fail = |why: &str| -> ! { panic!("not LEEF 2.0 ({why}): {m:?}") };
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = m.chars();
    while header.len() < 6 {
        match chars.next() {
            Some('\\') => field.push(chars.next().unwrap_or_else(|| fail("escape at end"))),
            Some('|') => header.push(std::mem::take(&mut field)),
            Some(c) => field.push(c),
            None => fail("short header"),
        }
    }
    let attrs: String = chars.collect();
    let pairs = attrs
        .split('\t')
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| fail("attribute without ="));
            (k.to_string(), v.to_string())
        })
        .collect();
    (header, pairs)
}

//! Alerts straight to a SIEM over syslog: UDP, TCP or TLS, RFC 5424 or
//! RFC 3164 headers, JSON, EVE, ECS, CEF or LEEF bodies.
//!
//! Each destination is its own output: the output thread renders a message
//! and hands it to the destination's bounded queue; a delivery thread per
//! destination (`deliver.rs`) owns the connection, the in-memory backlog
//! and the disk spool (`spool.rs`). A slow or absent SIEM therefore holds
//! up nothing but its own delivery thread, and what it cannot take yet
//! waits on disk, in order, for as long as the spool's bound allows.

mod deliver;
pub mod format;
pub mod spool;
mod transport;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError, bounded};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

pub use format::{Body, Header, Origin};

use crate::model::{Alert, SourceNames};
use crate::stats::SensorEvent;
use crate::stats::{OutputKind, OutputReport, OutputStats};

/// Messages waiting between the output thread and a delivery thread. The
/// delivery thread takes them in as fast as memory or disk allows, so this
/// only absorbs a connection attempt's worth of alerts.
const QUEUE_MESSAGES: usize = 65_536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    Tls,
}

/// How messages are delimited on a stream (RFC 6587).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// `LEN SP MSG`: safe whatever the message holds (RFC 5425, RFC 6587
    /// §3.4.1).
    OctetCounting,
    /// `MSG LF`: what older receivers expect (RFC 6587 §3.4.2).
    NonTransparent,
}

#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    #[error("syslog output {url:?}: {problem}")]
    Spec { url: String, problem: String },
    #[error("syslog output {url}: {file}: {problem}")]
    Tls {
        url: String,
        file: String,
        problem: String,
    },
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
}

/// Settings of one syslog output, each optional: from flags (the defaults
/// for every output), a `[[outputs.syslog]]` table of the config file, or
/// the URL's query (`tls://siem:6514?body=cef&facility=local3`), in
/// rising order of precedence.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyslogSettings {
    /// `udp://host:514`, `tcp://host:601` or `tls://host:6514`.
    pub url: Option<String>,
    /// `5424` (default) or `3164`.
    pub format: Option<String>,
    /// `json` (default), `eve`, `ecs`, `cef` or `leef`.
    pub body: Option<String>,
    /// `octet-counting` (default) or `non-transparent`; TCP and TLS only.
    pub framing: Option<String>,
    /// Facility name (`local0`, the default, ... `local7`, `daemon`, ...)
    /// or number.
    pub facility: Option<String>,
    /// CA certificates (PEM) the TLS server's certificate must chain to;
    /// the system's when absent.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that require one.
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub key: Option<PathBuf>,
    /// Name the server's certificate must carry; the URL's host when
    /// absent.
    pub server_name: Option<String>,
    /// Largest UDP message in bytes; longer ones are cut (RFC 5426).
    /// Default: what the path MTU allows.
    pub udp_max: Option<usize>,
    /// Private enterprise number of the structured data's SD-ID
    /// (`dnsentry@N`); RFC 5612's example number 32473 when absent.
    pub enterprise_number: Option<u32>,
}

impl SyslogSettings {
    /// `self` where set, else `fallback`.
    pub fn or(&self, fallback: &SyslogSettings) -> SyslogSettings {
        SyslogSettings {
            url: self.url.clone().or_else(|| fallback.url.clone()),
            format: self.format.clone().or_else(|| fallback.format.clone()),
            body: self.body.clone().or_else(|| fallback.body.clone()),
            framing: self.framing.clone().or_else(|| fallback.framing.clone()),
            facility: self.facility.clone().or_else(|| fallback.facility.clone()),
            ca: self.ca.clone().or_else(|| fallback.ca.clone()),
            cert: self.cert.clone().or_else(|| fallback.cert.clone()),
            key: self.key.clone().or_else(|| fallback.key.clone()),
            server_name: self
                .server_name
                .clone()
                .or_else(|| fallback.server_name.clone()),
            udp_max: self.udp_max.or(fallback.udp_max),
            enterprise_number: self.enterprise_number.or(fallback.enterprise_number),
        }
    }
}

/// One syslog destination, validated.
#[derive(Clone, Debug)]
pub struct SyslogSpec {
    /// The URL as given, without its query: how the output is named.
    pub name: String,
    pub proto: Proto,
    pub host: String,
    pub port: u16,
    pub header: Header,
    pub body: Body,
    pub framing: Framing,
    pub facility: u8,
    pub server_name: String,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub udp_max: Option<usize>,
    /// The SD-ID's private enterprise number.
    pub enterprise_number: u32,
}

impl SyslogSpec {
    /// Validates settings (`url` required), the URL's query overriding the
    /// rest.
    pub fn new(settings: &SyslogSettings) -> Result<SyslogSpec, SyslogError> {
        let raw = settings.url.clone().unwrap_or_default();
        let bad = |problem: String| SyslogError::Spec {
            url: raw.clone(),
            problem,
        };
        // `HOST:PORT` alone would parse as a scheme named HOST, or not at
        // all: say what is missing instead.
        if !raw.contains("://") {
            return Err(bad(format!(
                "the URL needs a scheme: udp://, tcp:// or tls:// (did you mean udp://{raw}?)"
            )));
        }
        let url = url::Url::parse(&raw).map_err(|e| bad(format!("not a URL: {e}")))?;
        let proto = match url.scheme() {
            "udp" => Proto::Udp,
            "tcp" => Proto::Tcp,
            "tls" => Proto::Tls,
            other => {
                return Err(bad(format!(
                    "scheme {other:?}: expected udp://, tcp:// or tls://"
                )));
            }
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => return Err(bad("no host".into())),
        };
        let port = url.port().unwrap_or(match proto {
            Proto::Udp => 514,
            Proto::Tcp => 601,
            Proto::Tls => 6514,
        });
        if !matches!(url.path(), "" | "/") {
            return Err(bad(format!("unexpected path {:?}", url.path())));
        }
        let mut from_query = SyslogSettings::default();
        for (k, v) in url.query_pairs() {
            let v = v.into_owned();
            match &*k {
                "format" => from_query.format = Some(v),
                "body" => from_query.body = Some(v),
                "framing" => from_query.framing = Some(v),
                "facility" => from_query.facility = Some(v),
                "ca" => from_query.ca = Some(v.into()),
                "cert" => from_query.cert = Some(v.into()),
                "key" => from_query.key = Some(v.into()),
                "server_name" => from_query.server_name = Some(v),
                "udp_max" => {
                    from_query.udp_max = Some(
                        v.parse()
                            .map_err(|_| bad(format!("udp_max {v:?} is not a number")))?,
                    );
                }
                "enterprise_number" => {
                    from_query.enterprise_number =
                        Some(v.parse().map_err(|_| {
                            bad(format!("enterprise_number {v:?} is not a number"))
                        })?);
                }
                other => return Err(bad(format!("unknown setting {other:?}"))),
            }
        }
        let s = from_query.or(settings);
        let header = match s.format.as_deref().unwrap_or("5424") {
            "5424" | "rfc5424" => Header::Rfc5424,
            "3164" | "rfc3164" => Header::Rfc3164,
            other => return Err(bad(format!("format {other:?}: expected 5424 or 3164"))),
        };
        let body = match s.body.as_deref().unwrap_or("json") {
            "json" => Body::Json,
            "eve" => Body::Eve,
            "ecs" => Body::Ecs,
            "cef" => Body::Cef,
            "leef" => Body::Leef,
            other => {
                return Err(bad(format!(
                    "body {other:?}: expected json, eve, ecs, cef or leef"
                )));
            }
        };
        let enterprise_number = s
            .enterprise_number
            .unwrap_or(format::EXAMPLE_ENTERPRISE_NUMBER);
        if enterprise_number == 0 {
            return Err(bad(
                "enterprise_number 0 is reserved; give your organisation's IANA private enterprise number".into(),
            ));
        }
        let framing = match s.framing.as_deref().unwrap_or("octet-counting") {
            "octet-counting" => Framing::OctetCounting,
            "non-transparent" => Framing::NonTransparent,
            other => {
                return Err(bad(format!(
                    "framing {other:?}: expected octet-counting or non-transparent"
                )));
            }
        };
        let facility_name = s.facility.as_deref().unwrap_or("local0");
        let facility = format::parse_facility(facility_name).ok_or_else(|| {
            bad(format!(
                "facility {facility_name:?}: expected kern, user, daemon, local0..local7, ... or 0..23"
            ))
        })?;
        if s.cert.is_some() != s.key.is_some() {
            return Err(bad(
                "a client certificate needs its key, and a key its certificate".into(),
            ));
        }
        // Flags apply to every destination, so a TLS setting that came
        // from them is simply not used by a plain one; in the URL it is a
        // mistake worth saying.
        if proto != Proto::Tls
            && (from_query.ca.is_some()
                || from_query.cert.is_some()
                || from_query.server_name.is_some())
        {
            return Err(bad(
                "ca, cert, key and server_name are for tls:// only".into()
            ));
        }
        if s.udp_max.is_some_and(|m| m < 480) {
            return Err(bad(
                "udp_max below 480, the size every receiver must accept".into(),
            ));
        }
        let mut name = url.clone();
        name.set_query(None);
        Ok(SyslogSpec {
            name: name.to_string(),
            proto,
            server_name: s.server_name.clone().unwrap_or_else(|| host.clone()),
            host,
            port,
            header,
            body,
            framing,
            facility,
            ca: s.ca.clone().filter(|_| proto == Proto::Tls),
            cert: s.cert.clone().filter(|_| proto == Proto::Tls),
            key: s.key.clone().filter(|_| proto == Proto::Tls),
            udp_max: s.udp_max,
            enterprise_number,
        })
    }

    /// Reads the TLS files (CA, certificate, key) as a run would.
    pub fn check_files(&self) -> Result<(), SyslogError> {
        self.tls_config().map(|_| ())
    }

    /// One line for `dnsentry check`.
    pub fn describe(&self) -> String {
        let header = match self.header {
            Header::Rfc5424 => "RFC 5424",
            Header::Rfc3164 => "RFC 3164",
        };
        let body = match self.body {
            Body::Json => "JSON",
            Body::Eve => "EVE JSON",
            Body::Ecs => "ECS JSON",
            Body::Cef => "CEF",
            Body::Leef => "LEEF 2.0",
        };
        let mut s = format!(
            "{}: {header}, {body} body, facility {}",
            self.name, self.facility
        );
        if self.enterprise_number != format::EXAMPLE_ENTERPRISE_NUMBER {
            s.push_str(&format!(", SD-ID dnsentry@{}", self.enterprise_number));
        }
        match self.proto {
            Proto::Udp => s.push_str(&format!(
                ", max {} bytes",
                self.udp_max.map_or("path MTU".into(), |m| m.to_string())
            )),
            Proto::Tcp | Proto::Tls => s.push_str(match self.framing {
                Framing::OctetCounting => ", octet-counting",
                Framing::NonTransparent => ", newline framing",
            }),
        }
        if self.proto == Proto::Tls {
            s.push_str(&format!(
                ", server name {}, CA {}",
                self.server_name,
                self.ca
                    .as_ref()
                    .map_or("system store".into(), |p| p.display().to_string())
            ));
            if let Some(c) = &self.cert {
                s.push_str(&format!(", client certificate {}", c.display()));
            }
        }
        s
    }

    /// The TLS client configuration, with every file read now: a missing
    /// CA or key fails before the run, not at the first alert.
    fn tls_config(&self) -> Result<Option<Arc<ClientConfig>>, SyslogError> {
        if self.proto != Proto::Tls {
            return Ok(None);
        }
        let fail = |file: &Path, problem: String| SyslogError::Tls {
            url: self.name.clone(),
            file: file.display().to_string(),
            problem,
        };
        // Bounded, and of regular files only: a PEM parser reads lines
        // until it finds one, which from /dev/zero is never.
        let read = |file: &Path| {
            crate::fsutil::read_regular(file, crate::fsutil::PEM_MAX_BYTES)
                .map_err(|e| fail(file, format!("cannot read: {e}")))
        };
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(ca) => {
                let certs = CertificateDer::pem_slice_iter(&read(ca)?)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(ca, e.to_string()))?;
                if certs.is_empty() {
                    return Err(fail(ca, "no PEM certificate in the file".into()));
                }
                for c in certs {
                    roots.add(c).map_err(|e| fail(ca, e.to_string()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(fail(
                        Path::new("system CA store"),
                        "no CA certificates found; give --syslog-ca".into(),
                    ));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(Path::new("-"), e.to_string()))?
            .with_root_certificates(roots);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(&read(cert)?)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| fail(cert, e.to_string()))?;
                if chain.is_empty() {
                    return Err(fail(cert, "no PEM certificate in the file".into()));
                }
                let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
                    .map_err(|e| fail(key, e.to_string()))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| fail(key, e.to_string()))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(Arc::new(config)))
    }
}

/// How every syslog output holds what it cannot deliver yet.
#[derive(Clone, Debug)]
pub struct DeliveryOptions {
    /// Where undelivered messages wait across outages and restarts; each
    /// output gets a directory of its own in it. None: memory only.
    pub spool_dir: Option<PathBuf>,
    /// The uid a live sensor hands the spool to (`--user`): it owns the
    /// spool on every start after the first, and is trusted with it
    /// besides root and the running user.
    pub spool_handover: Option<u32>,
    /// Bound of each output's spool.
    pub spool_max_bytes: u64,
    /// Bound of each output's in-memory backlog.
    pub memory_max_bytes: usize,
    /// How long, at exit, delivery may go on before what is left is
    /// spooled (or, without a spool, counted as dropped).
    pub flush_timeout: Duration,
    /// Offline: a full queue slows the run rather than dropping alerts.
    /// Live: capture never waits; a full queue drops, counted.
    pub backpressure: bool,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            spool_dir: None,
            spool_handover: None,
            spool_max_bytes: 1 << 30,
            memory_max_bytes: 64 << 20,
            flush_timeout: Duration::from_secs(10),
            backpressure: true,
        }
    }
}

/// A running syslog output: the queue into its delivery thread.
pub struct SyslogOutput {
    spec: Arc<SyslogSpec>,
    origin: Origin,
    tx: Option<Sender<Vec<u8>>>,
    stats: Arc<OutputStats>,
    thread: Option<JoinHandle<()>>,
    backpressure: bool,
}

impl SyslogOutput {
    /// Reads the TLS files, opens the spool (taking what an earlier run
    /// left in it) and starts the delivery thread. Connecting is the
    /// thread's business: a SIEM that is down at start is an outage like
    /// any other.
    pub fn start(spec: SyslogSpec, options: &DeliveryOptions) -> Result<SyslogOutput, SyslogError> {
        let tls = spec.tls_config()?;
        let stats = Arc::new(OutputStats::new(spec.name.clone(), OutputKind::Syslog));
        let spool = match &options.spool_dir {
            Some(dir) => {
                let owners = crate::fsutil::Owners {
                    handover: options.spool_handover,
                };
                let root = crate::fsutil::PrivateDir::open(dir, owners)
                    .map_err(spool::SpoolError::from)?;
                let own = root
                    .subdir(&spool_subdir(&spec))
                    .map_err(spool::SpoolError::from)?;
                let (spool, recovered) = spool::Spool::open(own, options.spool_max_bytes)?;
                if recovered.cut_bytes > 0 {
                    tracing::warn!(
                        output = %spec.name,
                        spool = %spool.dir().display(),
                        bytes = recovered.cut_bytes,
                        "Spool ended in a torn record (a crash mid-write); cut it off"
                    );
                }
                if recovered.records > 0 {
                    tracing::info!(
                        output = %spec.name,
                        messages = recovered.records,
                        "Spool holds messages from an earlier run; delivering them first"
                    );
                }
                stats.recovered.store(recovered.records, Ordering::Relaxed);
                stats.pending.store(recovered.records, Ordering::Relaxed);
                Some(spool)
            }
            None => None,
        };
        let (tx, rx) = bounded(QUEUE_MESSAGES);
        let spec = Arc::new(spec);
        let delivery = deliver::Delivery::new(
            Arc::clone(&spec),
            tls,
            rx,
            Arc::clone(&stats),
            options.clone(),
            spool,
        );
        let thread = std::thread::Builder::new()
            .name(format!("syslog-{}", spec.port))
            .spawn(move || delivery.run())
            .map_err(|e| SyslogError::Spec {
                url: spec.name.clone(),
                problem: format!("cannot start delivery thread: {e}"),
            })?;
        Ok(SyslogOutput {
            origin: Origin::this_host(spec.facility, spec.enterprise_number),
            spec,
            tx: Some(tx),
            stats,
            thread: Some(thread),
            backpressure: options.backpressure,
        })
    }

    pub fn stats(&self) -> Arc<OutputStats> {
        Arc::clone(&self.stats)
    }

    pub fn send_alert(&self, a: &Alert, id: u64, count: u64, sources: &SourceNames) {
        let m = format::alert_message(
            a,
            id,
            count,
            self.spec.header,
            self.spec.body,
            &self.origin,
            sources,
        );
        self.enqueue(m.into_bytes());
    }

    pub fn send_event(&self, e: &SensorEvent, sources: &SourceNames) {
        let m = format::sensor_message(e, self.spec.header, self.spec.body, &self.origin, sources);
        self.enqueue(m.into_bytes());
    }

    fn enqueue(&self, m: Vec<u8>) {
        let Some(tx) = &self.tx else { return };
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let result = if self.backpressure {
            tx.send(m).map_err(|_| ())
        } else {
            match tx.try_send(m) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    if self.stats.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                        tracing::error!(
                            output = %self.spec.name,
                            "Syslog queue full (spool disk too slow?): dropping messages, counted as dropped"
                        );
                    }
                    return;
                }
                Err(TrySendError::Disconnected(_)) => Err(()),
            }
        };
        if result.is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Closes the queue and waits for the delivery thread to deliver, or
    /// spool, what is left (bounded by the flush timeout).
    pub fn finish(mut self) -> OutputReport {
        self.tx = None;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!(output = %self.spec.name, "Syslog delivery thread panicked");
        }
        self.stats.report()
    }
}

impl super::Output for SyslogOutput {
    fn kind(&self) -> OutputKind {
        OutputKind::Syslog
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    fn write(
        &mut self,
        event: &super::Event<'_>,
        sources: &SourceNames,
    ) -> Result<(), super::OutputError> {
        match event {
            super::Event::Alert { alert, id, count } => {
                self.send_alert(alert, *id, *count, sources);
            }
            super::Event::Sensor(e) => self.send_event(e, sources),
            super::Event::DnsLog(_) | super::Event::Weird(_) => {}
        }
        Ok(())
    }

    /// Delivery is the delivery thread's: nothing waits here.
    fn flush(&mut self) -> Result<(), super::OutputError> {
        Ok(())
    }

    fn stats(&self) -> Option<Arc<OutputStats>> {
        Some(SyslogOutput::stats(self))
    }

    fn finish(self: Box<Self>) -> Option<OutputReport> {
        Some(SyslogOutput::finish(*self))
    }
}

impl Drop for SyslogOutput {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An offline run replays old captures, and an RFC 3164 header has no
/// year: says so once for the run, naming every such destination, so
/// that no one reads the header's date as this year's.
pub fn warn_rfc3164_offline(specs: &[SyslogSpec]) {
    let names: Vec<&str> = specs
        .iter()
        .filter(|s| s.header == Header::Rfc3164)
        .map(|s| s.name.as_str())
        .collect();
    if !names.is_empty() {
        tracing::warn!(
            "RFC 3164 syslog header has no year ({}): the date in the header is the packet's \
             month and day only; the body carries the full timestamp",
            names.join(", ")
        );
    }
}

/// Refuses two destinations that would share a spool (the same protocol,
/// host and port): their backlogs would interleave.
pub fn check_distinct(specs: &[SyslogSpec]) -> Result<(), SyslogError> {
    for (i, a) in specs.iter().enumerate() {
        if let Some(b) = specs
            .iter()
            .skip(i + 1)
            .find(|b| spool_subdir(b) == spool_subdir(a))
        {
            return Err(SyslogError::Spec {
                url: b.name.clone(),
                problem: format!("same destination as {} given twice", a.name),
            });
        }
    }
    Ok(())
}

/// One directory per destination, named after it, so two SIEMs never
/// share a spool and a changed URL never inherits another's backlog.
fn spool_subdir(spec: &SyslogSpec) -> String {
    let proto = match spec.proto {
        Proto::Udp => "udp",
        Proto::Tcp => "tcp",
        Proto::Tls => "tls",
    };
    let host: String = spec
        .host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{proto}_{host}_{}", spec.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> Result<SyslogSpec, SyslogError> {
        SyslogSpec::new(&SyslogSettings {
            url: Some(url.into()),
            ..Default::default()
        })
    }

    #[test]
    fn urls_and_defaults() {
        let s = spec("tls://siem.example:6514").unwrap();
        assert_eq!(
            (s.proto, s.host.as_str(), s.port),
            (Proto::Tls, "siem.example", 6514)
        );
        assert_eq!(s.server_name, "siem.example");
        assert_eq!(
            (s.header, s.body, s.framing, s.facility),
            (Header::Rfc5424, Body::Json, Framing::OctetCounting, 16)
        );
        let s = spec("udp://[2001:db8::1]").unwrap();
        assert_eq!(
            (s.proto, s.host.as_str(), s.port),
            (Proto::Udp, "2001:db8::1", 514)
        );
        let s =
            spec("tcp://127.0.0.1?body=cef&format=3164&framing=non-transparent&facility=local3")
                .unwrap();
        assert_eq!(
            (s.header, s.body, s.framing, s.facility, s.port),
            (Header::Rfc3164, Body::Cef, Framing::NonTransparent, 19, 601)
        );
        assert_eq!(s.name, "tcp://127.0.0.1");
        assert_eq!(s.enterprise_number, 32473);
        let s = spec("udp://h?enterprise_number=61234").unwrap();
        assert_eq!(s.enterprise_number, 61234);
        assert!(
            s.describe().contains(", SD-ID dnsentry@61234"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (url, needle) in [
            ("http://x", "scheme"),
            ("tcp://x?body=xml", "body"),
            ("tcp://x?facility=local9", "facility"),
            ("tcp://x?ca=/etc/ca.pem", "tls:// only"),
            ("tls://x?cert=/c.pem", "needs its key"),
            ("udp://x?udp_max=100", "480"),
            ("tcp://x?colour=red", "unknown setting"),
            ("tcp://x?enterprise_number=0", "reserved"),
            ("tcp://x?enterprise_number=acme", "not a number"),
            ("tcp://x/path", "path"),
            ("not a url", "needs a scheme"),
            ("tcp://", "no host"),
            ("tcp://[::1", "not a URL"),
            (
                "127.0.0.1:514",
                "needs a scheme: udp://, tcp:// or tls:// (did you mean udp://127.0.0.1:514?)",
            ),
            (
                "siem.example.org:514",
                "did you mean udp://siem.example.org:514?",
            ),
        ] {
            let e = spec(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }

    /// A port nothing listens on.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[test]
    fn without_a_spool_every_message_a_dead_receiver_cannot_take_is_counted_lost() {
        let spec = spec(&format!("tcp://127.0.0.1:{}", closed_port())).unwrap();
        let options = DeliveryOptions {
            memory_max_bytes: 2000,
            flush_timeout: Duration::from_millis(300),
            ..DeliveryOptions::default()
        };
        let out = SyslogOutput::start(spec, &options).unwrap();
        for i in 0..100 {
            out.enqueue(format!("{i:050}").into_bytes());
        }
        let r = out.finish();
        assert_eq!((r.queued, r.sent, r.pending), (100, 0, 0), "{r:?}");
        // The memory bound holds 40 of them; the rest were evicted, and
        // what was held was dropped at exit.
        assert_eq!((r.evicted, r.dropped), (60, 40), "{r:?}");
        assert!(r.connect_failures >= 1);
    }

    #[test]
    fn a_receiver_gets_every_message_whole_and_in_order() {
        use std::io::BufRead;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut r = std::io::BufReader::new(stream);
            let mut got = Vec::new();
            loop {
                // Octet counting: "LEN SP MSG".
                let mut len = Vec::new();
                if r.read_until(b' ', &mut len).unwrap() == 0 {
                    return got;
                }
                let n: usize = std::str::from_utf8(&len).unwrap().trim().parse().unwrap();
                let mut m = vec![0; n];
                std::io::Read::read_exact(&mut r, &mut m).unwrap();
                got.push(String::from_utf8(m).unwrap());
            }
        });
        let spec = spec(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let out = SyslogOutput::start(spec, &DeliveryOptions::default()).unwrap();
        let sent: Vec<String> = (0..20_000)
            .map(|i| format!("message {i} with a\nfake break"))
            .collect();
        for m in &sent {
            out.enqueue(m.clone().into_bytes());
        }
        let r = out.finish();
        assert_eq!(
            (r.queued, r.sent, r.lost(), r.pending),
            (20_000, 20_000, 0, 0),
            "{r:?}"
        );
        assert_eq!(receiver.join().unwrap(), sent);
    }

    #[test]
    fn one_destination_twice_is_refused() {
        let a = spec("tcp://siem:601?body=cef").unwrap();
        let b = spec("tcp://siem:601").unwrap();
        let c = spec("udp://siem:601").unwrap();
        assert!(check_distinct(&[a.clone(), c.clone()]).is_ok());
        let e = check_distinct(&[a, c, b]).unwrap_err().to_string();
        assert!(e.contains("given twice"), "{e}");
    }

    /// Enqueues `n` 400-byte messages from another thread, offline style
    /// (waiting when the backlog is full), and ends the output; `None`
    /// when that has not finished within `limit`.
    fn enqueue_all_within(out: SyslogOutput, n: usize, limit: Duration) -> Option<OutputReport> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            for _ in 0..n {
                out.enqueue(vec![b'x'; 400]);
            }
            let _ = tx.send(out.finish());
        });
        rx.recv_timeout(limit).ok()
    }

    /// An offline output (it waits when its backlog is full) with a spool
    /// so small that the backlog is full at once: the case that used to
    /// hang on a receiver that takes nothing.
    fn offline_with_full_spool(port: u16, spool: &Path, flush_timeout: Duration) -> SyslogOutput {
        let options = DeliveryOptions {
            memory_max_bytes: 64 * 1024,
            flush_timeout,
            backpressure: true,
            spool_dir: Some(spool.to_path_buf()),
            spool_max_bytes: 1 << 20,
            ..DeliveryOptions::default()
        };
        SyslogOutput::start(spec(&format!("tcp://127.0.0.1:{port}")).unwrap(), &options).unwrap()
    }

    /// Offline, a full backlog makes the analysis wait for the receiver;
    /// a receiver that accepts and then reads nothing must not make it
    /// wait forever: it is taken as gone after the flush timeout, the run
    /// goes on, and what it could not take is counted.
    #[test]
    fn a_receiver_that_stops_reading_cannot_hold_an_offline_run() {
        let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = stuck.local_addr().unwrap().port();
        std::thread::spawn(move || {
            // Accept every connection and never read from any.
            let mut held = Vec::new();
            while let Ok((conn, _)) = stuck.accept() {
                held.push(conn);
            }
        });
        let spool = tempfile::tempdir().unwrap();
        let out = offline_with_full_spool(port, spool.path(), Duration::from_secs(1));
        // 40 MB: far more than the socket buffers and the memory bound.
        let r = enqueue_all_within(out, 100_000, Duration::from_secs(60))
            .expect("a receiver that reads nothing held the run for a minute");
        assert_eq!(r.queued, 100_000, "{r:?}");
        assert!(r.lost() > 0, "what it could not take is counted: {r:?}");
        assert_eq!(r.sent + r.lost() + r.pending, r.queued, "{r:?}");
    }

    /// A receiver that resets the connection while batches wait for its
    /// acknowledgement is noticed at once, not after the stall limit, and
    /// not polled for acknowledgements forever.
    #[test]
    fn a_reset_with_batches_in_flight_is_noticed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let Ok((conn, _)) = listener.accept() else {
                return;
            };
            // Let the sender fill the socket, then reset: SO_LINGER 0
            // makes close send RST. Nothing listens afterwards.
            std::thread::sleep(Duration::from_millis(500));
            nix::sys::socket::setsockopt(
                &conn,
                nix::sys::socket::sockopt::Linger,
                &libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                },
            )
            .unwrap();
            drop(conn);
            drop(listener);
        });
        let spool = tempfile::tempdir().unwrap();
        // A stall limit far beyond the time allowed below: only seeing the
        // reset can end this in time. With a spool, the end does not wait
        // out the flush timeout for a receiver that is gone.
        let out = offline_with_full_spool(port, spool.path(), Duration::from_secs(120));
        let r = enqueue_all_within(out, 100_000, Duration::from_secs(30))
            .expect("a reset receiver held the run");
        assert_eq!(r.queued, 100_000, "{r:?}");
        assert_eq!(r.sent + r.lost() + r.pending, r.queued, "{r:?}");
    }

    /// One receiver accepts and never reads; the other reads. The stuck
    /// one fills its socket and holds the rest in memory without holding
    /// up the caller or the other receiver, and at exit counts what it
    /// could not deliver.
    #[test]
    fn a_stuck_receiver_holds_up_nothing_else() {
        use std::io::Read;
        let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (stuck_port, good_port) = (
            stuck.local_addr().unwrap().port(),
            good.local_addr().unwrap().port(),
        );
        let holder = std::thread::spawn(move || {
            let (conn, _) = stuck.accept().unwrap();
            // Keep the connection open, unread, past the flush timeout.
            std::thread::sleep(Duration::from_secs(3));
            drop(conn);
        });
        let reader = std::thread::spawn(move || {
            let (mut conn, _) = good.accept().unwrap();
            let mut all = Vec::new();
            conn.read_to_end(&mut all).unwrap();
            all.len()
        });
        let options = DeliveryOptions {
            flush_timeout: Duration::from_millis(500),
            backpressure: false,
            ..DeliveryOptions::default()
        };
        // The stuck one as live (never waits, drops when full, counted);
        // the good one as offline (waits rather than drop), so that it
        // must receive everything.
        let stuck = SyslogOutput::start(
            spec(&format!("tcp://127.0.0.1:{stuck_port}")).unwrap(),
            &options,
        )
        .unwrap();
        let good = SyslogOutput::start(
            spec(&format!("tcp://127.0.0.1:{good_port}")).unwrap(),
            &DeliveryOptions {
                backpressure: true,
                ..options
            },
        )
        .unwrap();
        // 40 MB: far more than two socket buffers hold.
        let message = vec![b'x'; 400];
        let framed = "400 ".len() + 400;
        for _ in 0..100_000 {
            stuck.enqueue(message.clone());
            good.enqueue(message.clone());
        }
        let good = good.finish();
        assert_eq!((good.sent, good.lost()), (100_000, 0), "{good:?}");
        assert_eq!(reader.join().unwrap(), 100_000 * framed);
        let stuck = stuck.finish();
        assert!(stuck.sent < 100_000, "{stuck:?}");
        assert_eq!(stuck.sent + stuck.lost(), 100_000, "{stuck:?}");
        holder.join().unwrap();
    }

    #[test]
    fn query_beats_table_beats_flags() {
        let flags = SyslogSettings {
            body: Some("leef".into()),
            facility: Some("daemon".into()),
            ..Default::default()
        };
        let table = SyslogSettings {
            url: Some("tcp://h?body=cef".into()),
            body: Some("json".into()),
            ..Default::default()
        };
        let s = SyslogSpec::new(&table.or(&flags)).unwrap();
        assert_eq!((s.body, s.facility), (Body::Cef, 3));
    }
}

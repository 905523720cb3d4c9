//! What this binary is: version, git commit, build date, compiler, and the
//! libpcap and TLS library it runs with, for `dnsentry --version` and the
//! `dnsentry_build_info` metric, so a SOC can tell which build raised an
//! alert. The first four are fixed at build time (build.rs); libpcap is
//! asked at run time, since the shared library may be updated without a
//! rebuild.

use std::ffi::{CStr, c_char};

/// The build, as `--version` and the metric show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: &'static str,
    /// Short git hash, or "unknown" when built outside a git checkout.
    pub commit: &'static str,
    /// UTC date of the build (SOURCE_DATE_EPOCH when set), `YYYY-MM-DD`.
    pub date: &'static str,
    pub rustc: &'static str,
    /// What the loaded libpcap says it is.
    pub libpcap: String,
    pub tls: String,
}

impl BuildInfo {
    pub fn current() -> BuildInfo {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("DNSENTRY_COMMIT"),
            date: env!("DNSENTRY_BUILD_DATE"),
            rustc: env!("DNSENTRY_RUSTC"),
            libpcap: libpcap_version(),
            tls: format!("rustls {} (ring)", env!("DNSENTRY_RUSTLS")),
        }
    }

    /// Label names and values, in a fixed order.
    pub fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("version", self.version),
            ("commit", self.commit),
            ("built", self.date),
            ("rustc", self.rustc),
            ("libpcap", &self.libpcap),
            ("tls", &self.tls),
        ]
    }

    /// What follows the program name in `dnsentry --version`.
    pub fn version_text(&self) -> String {
        let mut s = self.version.to_string();
        for (name, value) in self.fields().into_iter().skip(1) {
            s.push_str(&format!("\n{name}: {value}"));
        }
        s
    }
}

unsafe extern "C" {
    /// libpcap's own description of itself, e.g. "libpcap version 1.10.5
    /// (with TPACKET_V3)". The pcap crate links libpcap but does not
    /// expose this one.
    fn pcap_lib_version() -> *const c_char;
}

/// The version string of the libpcap this process loaded.
pub fn libpcap_version() -> String {
    // SAFETY: pcap_lib_version takes no argument and returns a pointer to
    // a static NUL-terminated string owned by libpcap (never freed, never
    // changed); a null pointer is checked all the same.
    let text = unsafe {
        let p = pcap_lib_version();
        if p.is_null() {
            return "unknown".into();
        }
        CStr::from_ptr(p)
    };
    text.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_filled_in() {
        let info = BuildInfo::current();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(info.libpcap.starts_with("libpcap version "), "{info:?}");
        assert!(info.rustc.starts_with("rustc "), "{info:?}");
        assert!(info.tls.starts_with("rustls 0."), "{info:?}");
        assert_eq!(info.date.len(), 10, "{info:?}");
        let text = info.version_text();
        assert_eq!(text.lines().count(), 6, "{text}");
    }
}

//! The system's resolvers, from resolv.conf: the default of `--resolver`.
//! Only `nameserver` lines are read (as the C library reads them: the
//! first word is the keyword, `#` or `;` at the start of a line comments
//! it out); every other keyword is the C library's business. A
//! `nameserver` line that names no usable address is an error naming the
//! file and line, not a resolver silently skipped: the audit would then
//! not ask a server the operator thinks it asks.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::Path;

use crate::error::{FileError, utf8_text};

/// The file the C library reads.
pub const SYSTEM: &str = "/etc/resolv.conf";

/// The resolvers `path` names; none when the file does not exist (the
/// C library then asks the local host, which is no resolver of the
/// organisation's to audit).
pub fn load(path: &Path) -> Result<Vec<SocketAddr>, FileError> {
    let label = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FileError::new(&label, 0, e.to_string())),
    };
    let text = utf8_text(&label, bytes, "a resolv.conf file")?;
    parse(&label, &text)
}

/// The addresses of `text`'s `nameserver` lines, in file order, each once.
pub fn parse(path: &str, text: &str) -> Result<Vec<SocketAddr>, FileError> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = (i + 1) as u64;
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        let Some(value) = words.next() else {
            return Err(FileError::new(path, line, "nameserver names no address"));
        };
        // Anything after the address is ignored by the C library too, but
        // a comment is the only thing that belongs there.
        if let Some(extra) = words.next().filter(|w| !w.starts_with(['#', ';'])) {
            return Err(FileError::new(
                path,
                line,
                format!("nameserver {value:?} is followed by {extra:?}: one address per line"),
            ));
        }
        let addr = address(value).map_err(|problem| {
            FileError::new(path, line, format!("nameserver {value:?}: {problem}"))
        })?;
        let server = match addr {
            Scoped::Plain(ip) => SocketAddr::new(ip, 53),
            Scoped::V6(ip, scope) => SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)),
        };
        if !out.contains(&server) {
            out.push(server);
        }
    }
    Ok(out)
}

enum Scoped {
    Plain(IpAddr),
    /// A link-local IPv6 address and its interface's index.
    V6(Ipv6Addr, u32),
}

/// `192.0.2.53`, `2001:db8::53` or `fe80::1%eth0` (scope by interface
/// name or index).
fn address(s: &str) -> Result<Scoped, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Scoped::Plain(ip));
    }
    let Some((ip, scope)) = s.split_once('%') else {
        return Err("not an IPv4 or IPv6 address".into());
    };
    let ip: Ipv6Addr = ip
        .parse()
        .map_err(|_| "not an IPv6 address before the scope".to_string())?;
    let index = match scope.parse::<u32>() {
        Ok(n) => n,
        Err(_) => interface_index(scope)
            .ok_or_else(|| format!("no interface {scope:?} on this host for the scope"))?,
    };
    Ok(Scoped::V6(ip, index))
}

/// The kernel's index of interface `name`.
fn interface_index(name: &str) -> Option<u32> {
    // A name with a path separator would read another file.
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return None;
    }
    std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_lines_are_read_and_other_keywords_left_alone() {
        let text = "# written by hand\n\
                    ; and by a tool\n\
                    search example.org\n\
                    nameserver 192.0.2.53\n\
                    \x20 nameserver   2001:db8::53   # the v6 one\n\
                    options edns0 trust-ad\n\
                    #nameserver 192.0.2.1\n\
                    nameserver 192.0.2.53\n\
                    nameserver fe80::1%1\n";
        let got = parse("r.conf", text).unwrap();
        let want: Vec<SocketAddr> = vec![
            "192.0.2.53:53".parse().unwrap(),
            "[2001:db8::53]:53".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 1)),
        ];
        assert_eq!(got, want);
        assert!(parse("r.conf", "").unwrap().is_empty());
    }

    #[test]
    fn a_bad_nameserver_line_names_the_file_and_line() {
        for (text, line, problem) in [
            ("nameserver 192.0.2.53\nnameserver\n", 2, "names no address"),
            ("\n\nnameserver 192.0.2.300\n", 3, "not an IPv4 or IPv6"),
            (
                "nameserver 192.0.2.1 192.0.2.2\n",
                1,
                "one address per line",
            ),
            ("nameserver fe80::1%no-such-if0\n", 1, "no interface"),
            ("nameserver 192.0.2.1%1\n", 1, "not an IPv6 address"),
        ] {
            let e = parse("/etc/resolv.conf", text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("/etc/resolv.conf:{line}")) && e.contains(problem),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn a_missing_file_names_no_resolver() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("none")).unwrap().is_empty());
    }
}

//! Root hints: where iterative resolution starts. The file is in the
//! layout of IANA's `named.root` (master-file records `NAME [TTL] [IN]
//! TYPE DATA`, `;` comments); only the root's NS records and their A and
//! AAAA records are read. IANA's file is compiled in (`named.root`,
//! provenance in `SOURCES.md`); `--root-hints FILE` replaces it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::error::{FileError, utf8_text};
use crate::model::names::fold_into;

/// The root hints compiled in.
pub const BUILTIN: &str = include_str!("named.root");
/// What errors call the compiled-in file.
pub const BUILTIN_NAME: &str = "builtin:named.root";

/// A name server: its name when known, and one of its addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Server {
    /// Folded (lower case, no trailing dot).
    pub name: Option<String>,
    pub addr: IpAddr,
}

/// Reads a root hints file.
pub fn load(path: &Path) -> Result<Vec<Server>, FileError> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FileError::new(&label, 0, e.to_string()))?;
    let text = utf8_text(&label, bytes, "a root hints file")?;
    parse(&label, &text)
}

/// The root servers `text` names, with their addresses, in file order.
pub fn parse(path: &str, text: &str) -> Result<Vec<Server>, FileError> {
    let mut roots: Vec<String> = Vec::new();
    let mut addrs: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = (i + 1) as u64;
        let code = raw.split(';').next().unwrap_or_default();
        let tokens: Vec<&str> = code.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        // NAME, then an optional TTL and class, then TYPE and DATA.
        let mut rest = tokens.iter().skip(1).copied().peekable();
        if rest
            .peek()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
        {
            rest.next();
        }
        if rest.peek().is_some_and(|t| t.eq_ignore_ascii_case("IN")) {
            rest.next();
        }
        let (Some(name), Some(rtype), Some(data)) = (tokens.first(), rest.next(), rest.next())
        else {
            return Err(FileError::new(
                path,
                line,
                "expected a record: NAME [TTL] [IN] TYPE DATA",
            ));
        };
        let mut folded = String::new();
        fold_into(name, &mut folded);
        match rtype.to_ascii_uppercase().as_str() {
            "NS" if folded == "." || folded.is_empty() => {
                let mut target = String::new();
                fold_into(data, &mut target);
                if !roots.contains(&target) {
                    roots.push(target);
                }
            }
            "A" | "AAAA" => {
                let addr: IpAddr = data.parse().map_err(|_| {
                    FileError::new(path, line, format!("{data:?} is not an address"))
                })?;
                let family_ok = (rtype.eq_ignore_ascii_case("A")) == addr.is_ipv4();
                if !family_ok {
                    return Err(FileError::new(
                        path,
                        line,
                        format!("{data:?} is not an {} address", rtype.to_ascii_uppercase()),
                    ));
                }
                addrs.entry(folded).or_default().push(addr);
            }
            _ => {}
        }
    }
    let servers: Vec<Server> = roots
        .iter()
        .flat_map(|n| {
            addrs.get(n).into_iter().flatten().map(|a| Server {
                name: Some(n.clone()),
                addr: *a,
            })
        })
        .collect();
    if servers.is_empty() {
        return Err(FileError::new(
            path,
            0,
            "no root server with an address: expected `. NS NAME` and `NAME A ADDRESS` records",
        ));
    }
    Ok(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_hints_name_the_13_root_servers_over_ipv4_and_ipv6() {
        let servers = parse(BUILTIN_NAME, BUILTIN).unwrap();
        assert_eq!(servers.len(), 26);
        assert_eq!(servers[0].name.as_deref(), Some("a.root-servers.net"));
        assert_eq!(servers[0].addr.to_string(), "198.41.0.4");
        assert!(servers.iter().filter(|s| s.addr.is_ipv6()).count() == 13);
        let last = servers.last().unwrap();
        assert_eq!(last.name.as_deref(), Some("m.root-servers.net"));
    }

    #[test]
    fn a_hints_file_needs_servers_with_addresses_and_bad_lines_name_their_line() {
        let ok = parse(
            "h",
            ". NS ns.root.test.\nns.root.test. IN A 10.53.0.1 ; x\n",
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        let e = parse("h", ". 1 NS ns.root.test.\nns.root.test. A 10.53.0.300\n").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("h", 2));
        let e = parse("h", ". NS ns.root.test.\nns.root.test. AAAA 10.0.0.1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("h", ". NS ns.root.test.\nns.root.test.\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("h", ". NS ns.root.test.\n").unwrap_err();
        assert_eq!(e.line, 0);
    }
}

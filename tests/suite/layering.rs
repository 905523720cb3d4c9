//! The map of the crate stays true: top-level modules import each other
//! without cycles, and the shared vocabulary at the bottom (`model`,
//! `stats`, `error`, `fsutil`) imports from no stage. Read from the source, as
//! `cargo modules dependencies --acyclic` would, but with nothing to
//! install.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::project_file;

/// Modules every stage may use and that use no stage.
const BOTTOM: &[&str] = &["model", "stats", "error", "fsutil"];

/// Top-level module of a file under src/ (`decode/dns.rs` → `decode`).
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// `text` without its `#[cfg(test)]` items: tests may use any helper
/// (scenario builders, other stages' decoders), and that is not part of
/// the architecture. An item is skipped from the attribute to the brace
/// that closes its first block.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let Some(open) = item.find('{') else {
            return out;
        };
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// `crate::NAME` paths in `text`, comments, doc comments and
/// `#[cfg(test)]` items left out.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in without_tests(text).lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = project_file("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let Some(module) = module_of(path.strip_prefix(&src).unwrap()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let deps = graph.entry(module.clone()).or_default();
            for d in crate_refs(&text) {
                if d != module {
                    deps.insert(d);
                }
            }
        }
    }
    graph
}

/// A cycle through `start`, if any, as a path.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == node) {
        let mut cycle = path[i..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle_from(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn modules_import_each_other_without_cycles() {
    let graph = graph();
    assert!(graph.len() > 10, "read the crate: {graph:?}");
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, node, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_shared_vocabulary_imports_no_stage() {
    let graph = graph();
    for bottom in BOTTOM {
        let deps = graph.get(*bottom).cloned().unwrap_or_default();
        let stages: Vec<_> = deps
            .iter()
            .filter(|d| !BOTTOM.contains(&d.as_str()))
            .collect();
        assert!(stages.is_empty(), "{bottom} imports {stages:?}");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    let cycle = cycle_from(&g, "a", &mut Vec::new(), &mut BTreeSet::new());
    assert_eq!(cycle.unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(
        crate_refs(
            "use crate::model::X; // crate::health\nlet x = crate::stats::Y;\n\
             #[cfg(test)]\nmod tests {\n fn f() { crate::synth::a(); }\n}\nuse crate::error::E;"
        ),
        BTreeSet::from([
            "error".to_string(),
            "model".to_string(),
            "stats".to_string()
        ])
    );
}

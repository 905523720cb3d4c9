//! Tells the integration tests whether the public captures are there, so
//! that the tests comparing against them are reported as ignored, rather
//! than passing on nothing, when they are not (tests/suite/truth.rs). Only
//! sets a cfg; the tests themselves find the directory at run time.
//!
//! The choice matches `public_captures_dir` in tests/common/mod.rs:
//! DNSENTRY_PUBLIC_CAPTURES when set (whether or not it exists: the tests
//! then fail loudly on a wrong path), else ../shared/pcaps beside the project.
//!
//! The same for Suricata's EVE schema (`eve_schema`, tests/suite/eve.rs):
//! `schemas/suricata-eve.schema.json` beside that directory. It is
//! GPL-2.0, so it is never part of this repository.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(public_captures)");
    println!("cargo::rustc-check-cfg=cfg(eve_schema)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DNSENTRY_PUBLIC_CAPTURES");
    let from_env = env::var_os("DNSENTRY_PUBLIC_CAPTURES").is_some_and(|v| !v.is_empty());
    let found = from_env || {
        let shared = env::var_os("CARGO_MANIFEST_DIR")
            .map(|root| Path::new(&root).join("../shared/pcaps"))
            .filter(|dir| dir.is_dir());
        // Watched only when it exists: cargo reruns a build script on every
        // build while a watched path is missing, and with it rebuilds the
        // library. So a ../shared/pcaps that appears after the first build
        // is seen only once something else reruns this script; setting
        // DNSENTRY_PUBLIC_CAPTURES always does.
        if let Some(dir) = &shared {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
        shared.is_some()
    };
    if found {
        println!("cargo::rustc-cfg=public_captures");
    }
    let captures = match env::var_os("DNSENTRY_PUBLIC_CAPTURES").filter(|v| !v.is_empty()) {
        Some(dir) => Some(Path::new(&dir).to_path_buf()),
        None => {
            env::var_os("CARGO_MANIFEST_DIR").map(|root| Path::new(&root).join("../shared/pcaps"))
        }
    };
    if let Some(schema) = captures.and_then(|dir| {
        Some(
            dir.parent()?
                .join("schemas")
                .join("suricata-eve.schema.json"),
        )
    }) {
        // Watched only when it exists, as the captures are (see above).
        if schema.is_file() {
            println!("cargo::rerun-if-changed={}", schema.display());
            println!("cargo::rustc-cfg=eve_schema");
        }
    }
}

//! The crates depend one way (DESIGN.md: HTTP or CLI → service functions → store): the store
//! speaks neither HTTP nor OpenAPI, and the CLI reaches the analytics service without going
//! through an HTTP module or its error type. Issue 8, item 18.

use std::path::{Path, PathBuf};

fn crates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crates/").to_path_buf()
}

/// The `[dependencies]` names of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(crates().join(krate).join("Cargo.toml")).expect("manifest");
    let section = manifest.split("[dependencies]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
    section
        .lines()
        .filter_map(|l| l.split(['=', '.']).next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect()
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.clone(), std::fs::read_to_string(&path).expect("text")));
        }
    }
    out
}

#[test]
fn r8_the_store_needs_no_http_or_openapi_crate() {
    let deps = dependencies("store");
    assert!(deps.iter().any(|d| d == "rapport-domain"), "the manifest was read: {deps:?}");
    for forbidden in ["utoipa", "axum", "rapport-server"] {
        assert!(!deps.iter().any(|d| d == forbidden), "crates/store depends on {forbidden}: {deps:?}");
    }
}

#[test]
fn r8_the_cli_calls_services_not_http_modules() {
    for (path, text) in sources(&crates().join("cli/src")) {
        for forbidden in ["rapport_server::api", "ApiError", "rapport_server::ui"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", path.display());
        }
    }
    for (path, text) in sources(&crates().join("server/src/analytics")) {
        for forbidden in ["ApiError", "axum", "crate::api"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", path.display());
        }
    }
}

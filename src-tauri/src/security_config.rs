//! Tests of the web view's security settings as shipped: the CSP in tauri.conf.json, the
//! capability the main window gets, and the Tauri version (../shared notes: CVE-2024-35222,
//! CVE-2026-42184 need tauri ≥ 2.11.1). The e2e hostile-text test checks the CSP in the real
//! web view too.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn read_json(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The CSP's directives: name → sources.
fn csp_directives() -> Vec<(String, Vec<String>)> {
    let config = read_json("tauri.conf.json");
    let csp = config["app"]["security"]["csp"].as_str().expect("a CSP string in tauri.conf.json");
    csp.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut words = d.split_whitespace().map(str::to_owned);
            (words.next().unwrap(), words.collect())
        })
        .collect()
}

fn sources(directive: &str) -> Vec<String> {
    csp_directives().into_iter().find(|(name, _)| name == directive).map(|(_, s)| s).unwrap_or_else(|| panic!("no {directive} in the CSP"))
}

#[test]
fn the_csp_allows_no_inline_script_no_eval_and_nothing_remote() {
    assert_eq!(sources("default-src"), ["'self'"]);
    assert_eq!(sources("script-src"), ["'self'"], "scripts only from the app (no 'unsafe-inline', no 'unsafe-eval', no hosts)");
    assert_eq!(sources("object-src"), ["'none'"]);
    assert_eq!(sources("frame-src"), ["'none'"]);
    assert_eq!(sources("connect-src"), ["ipc:", "http://ipc.localhost"], "the web view talks to nothing but the IPC");
    for (name, values) in csp_directives() {
        for value in values {
            let lower = value.to_ascii_lowercase();
            assert!(!lower.contains("unsafe-eval") && !lower.contains("unsafe-inline"), "{name} allows {value}");
            assert!(!lower.starts_with("https:") && !lower.starts_with("http:") || lower == "http://ipc.localhost", "{name} allows the remote {value}");
            assert_ne!(lower, "*", "{name} allows everything");
        }
    }
    let config = read_json("tauri.conf.json");
    assert_eq!(config["app"]["withGlobalTauri"], Value::Bool(false), "no global window.__TAURI__ for injected scripts");
    assert!(config["app"]["security"].get("dangerousDisableAssetCspModification").is_none());
}

#[test]
fn the_main_window_may_call_only_the_apps_own_commands_and_no_remote_origin() {
    let capability = read_json("capabilities/main-window.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert_eq!(capability["local"], Value::Bool(true));
    assert!(capability.get("remote").is_none(), "a remote origin may reach the IPC: {capability}");
    let permissions: BTreeSet<String> =
        capability["permissions"].as_array().unwrap().iter().map(|p| p.as_str().expect("permissions by name only").to_owned()).collect();
    let build_rs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs")).unwrap();
    let declared = build_rs.split("const COMMANDS").nth(1).and_then(|rest| rest.split("];").next()).expect("COMMANDS in build.rs");
    let commands: BTreeSet<String> = declared.split('"').skip(1).step_by(2).map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
    let core: BTreeSet<String> = ["core:event:allow-listen", "core:event:allow-unlisten"].map(String::from).into();
    let expected: BTreeSet<String> = commands.union(&core).cloned().collect();
    assert_eq!(permissions, expected, "the capability grants exactly the app's commands and event listening");
}

#[test]
fn tauri_is_at_least_2_11_1() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.lines().any(|l| l.trim() == "name = \"tauri\""))
        .and_then(|p| p.lines().find_map(|l| l.trim().strip_prefix("version = \"")).map(|v| v.trim_end_matches('"').to_owned()))
        .expect("tauri in Cargo.lock");
    let parts: Vec<u32> = version.split('.').map(|n| n.parse().unwrap()).collect();
    assert!(parts >= vec![2, 11, 1], "tauri {version} has known IPC vulnerabilities");
}

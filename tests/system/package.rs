//! Smoke test of the desktop app as a user gets it: the .deb tests/run built (`tauri build
//! --debug --bundles deb rpm`) and installed with apt, and the .rpm next to it.
//!
//! Runs only with `RAPPORT_PACKAGE_SMOKE=1` (tests/run sets it after `apt-get install ./….deb`);
//! otherwise it prints why it skipped. Checks what dpkg installed (binary, .desktop entry, icons),
//! starts the INSTALLED binary under Xvfb through WebKitWebDriver and waits for the sign-in
//! screen, and reads the .rpm's header with `rpm -qip`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use rapport_system_tests::desktop::{labelled, Env};

const PACKAGE: &str = "rapport";
const BINARY: &str = "/usr/bin/rapport-desktop";

fn src_tauri() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri")
}

/// (productName, version, shortDescription) from src-tauri/tauri.conf.json.
fn app_config() -> (String, String, String) {
    let text = std::fs::read_to_string(src_tauri().join("tauri.conf.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let field = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    (field(&config["productName"]), field(&config["version"]), field(&config["bundle"]["shortDescription"]))
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn installed_deb_starts_and_both_packages_describe_the_app() {
    if std::env::var("RAPPORT_PACKAGE_SMOKE").as_deref() != Ok("1") {
        let _ = std::io::stderr()
            .write_all(b"package: SKIPPED: set RAPPORT_PACKAGE_SMOKE=1 after installing the .deb (tests/run does, in its desktop stage)\n");
        return;
    }
    let (product, version, summary) = app_config();

    // What dpkg installed.
    assert_eq!(output("dpkg-query", &["-W", "-f=${Version}", PACKAGE]), version, "installed version of {PACKAGE}");
    let files = output("dpkg", &["-L", PACKAGE]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&BINARY), "{BINARY} not in dpkg -L {PACKAGE}: {files:#?}");
    let desktop = format!("/usr/share/applications/{product}.desktop");
    assert!(files.contains(&desktop.as_str()), "{desktop} not in dpkg -L {PACKAGE}: {files:#?}");
    let entry = std::fs::read_to_string(&desktop).unwrap_or_else(|e| panic!("{desktop}: {e}"));
    for line in [format!("Name={product}"), "Exec=rapport-desktop".into(), "Icon=rapport-desktop".into(), "Type=Application".into()] {
        assert!(entry.lines().any(|l| l == line), "{desktop} lacks {line:?}:\n{entry}");
    }
    assert!(entry.lines().any(|l| l.starts_with("Categories=") && l.contains("InstantMessaging;")), "{desktop}: no InstantMessaging category:\n{entry}");
    let icons: Vec<&&str> = files.iter().filter(|f| f.starts_with("/usr/share/icons/hicolor/") && f.ends_with("/apps/rapport-desktop.png")).collect();
    assert!(icons.iter().any(|f| f.contains("/128x128/")), "no 128x128 icon installed: {icons:?}");
    for icon in &icons {
        assert!(std::fs::metadata(icon).map(|m| m.len() > 0).unwrap_or(false), "{icon} missing or empty");
    }
    let depends = output("dpkg-query", &["-W", "-f=${Depends}", PACKAGE]);
    for dep in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1"] {
        assert!(depends.contains(dep), "{PACKAGE} does not depend on {dep}: {depends}");
    }

    // The .rpm built next to it.
    let rpm = src_tauri().join(format!("target/debug/bundle/rpm/{product}-{version}-1.x86_64.rpm"));
    assert!(rpm.is_file(), "{} missing", rpm.display());
    let info = output("rpm", &["-qip", &rpm.to_string_lossy()]);
    let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix(':')).map(str::trim).map(str::to_owned);
    assert_eq!(field("Name").as_deref(), Some(PACKAGE), "rpm -qip:\n{info}");
    assert_eq!(field("Version").as_deref(), Some(version.as_str()), "rpm -qip:\n{info}");
    assert_eq!(field("Summary").as_deref(), Some(summary.as_str()), "rpm -qip:\n{info}");
    assert!(info.contains("Description :"), "rpm -qip shows no description:\n{info}");
    let rpm_files = output("rpm", &["-qlp", &rpm.to_string_lossy()]);
    assert!(rpm_files.lines().any(|l| l == BINARY), "{BINARY} not in the .rpm: {rpm_files}");

    // The installed binary opens its sign-in screen (a fresh profile: no account yet).
    let env = Env::start(Path::new(BINARY));
    let d = env.launch();
    d.wait("sign-in heading", "//h1[normalize-space()='Sign in to Rapport']");
    d.wait("Address field", &labelled("Address"));
    d.screenshot("package-installed-sign-in");
    env.quit(d);
    eprintln!("package: {PACKAGE} {version} installed and started; {} checked", rpm.display());
}

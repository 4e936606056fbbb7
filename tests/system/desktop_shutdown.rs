//! SIGTERM ends the real desktop app cleanly: it signs out (the peer sees an unavailable presence
//! at once) and exits with status 0.
//!
//! The app is started directly (not through WebDriver, so that the test is its parent and sees
//! its exit status) under Xvfb, with a profile that holds alice's account and the keyring her
//! password, so it signs in by itself, as after "Remember me". Bob watches on the engine.
//!
//! Why the unavailable presence tells a clean sign-out from a kill: Prosody keeps a stream that
//! drops without `</stream>` hibernating for XEP-0198 resumption (minutes), and announces nothing
//! meanwhile; only a closed stream makes it send alice's unavailable presence to Bob at once.
//!
//! Runs only with `RAPPORT_E2E=1` (tests/run's desktop stage, after building the app), inside the
//! keyring session bus tests/run provides.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rapport_engine::events::Event;
use rapport_engine::types::Availability;
use rapport_engine::{credentials, Profile};
use rapport_system_tests::desktop::{built_app, poll, start_xvfb};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, XmppServer};

/// The app process, killed (SIGKILL) if the test ends before it exited.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn alice_availability(event: &Event, jid: &str) -> Option<Availability> {
    match event {
        Event::PresenceChanged { contacts } => contacts.iter().find(|c| c.jid == jid).map(|c| c.availability),
        _ => None,
    }
}

fn start_app(root: &Path, display: &str) -> App {
    let home = root.join("home");
    let runtime = root.join("runtime");
    for dir in [home.join(".config"), home.join(".local/share"), home.join(".cache"), home.join(".local/state"), runtime.clone()] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let log = std::fs::File::create(root.join("app.log")).unwrap();
    let child = Command::new(built_app())
        .env("DISPLAY", display)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("RAPPORT_PROFILE", root.join("profile"))
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e} (build it: cd src-tauri && cargo build)", built_app().display()));
    App(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_signs_out_and_exits_0() {
    if std::env::var("RAPPORT_E2E").as_deref() != Ok("1") {
        let _ = std::io::stderr().write_all(b"desktop_shutdown: SKIPPED: set RAPPORT_E2E=1 to run the real desktop app (tests/run does, in its desktop stage)\n");
        return;
    }
    assert_secret_service();
    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob")]);
    server.set_roster(&bob, &[RosterItem::new(&alice.jid).name("Alice")]);
    let mut b = sign_in(&server, &bob).await;

    // A profile that signs in by itself: the account config and the password in the keyring.
    let root = tempfile::Builder::new().prefix("rapport-shutdown-").tempdir().unwrap();
    Profile::at(root.path().join("profile")).save_account(&account(&server, &alice)).unwrap();
    credentials::store_password(&alice.jid, &alice.password).unwrap();

    let (_xvfb, display) = tokio::task::block_in_place(|| start_xvfb(root.path()));
    let mut app = start_app(root.path(), &display);
    let log = || std::fs::read_to_string(root.path().join("app.log")).unwrap_or_default();
    let online = expect_event(&mut b.events, "alice online (the app signed in by itself)", |e| {
        alice_availability(e, &alice.jid).filter(|a| *a != Availability::Offline)
    })
    .await;
    eprintln!("desktop_shutdown: alice is {online:?} at bob's");
    assert!(app.0.try_wait().unwrap().is_none(), "the app exited early:\n{}", log());

    let pid = app.0.id() as i32;
    let sent = Instant::now();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill -TERM {pid}");
    expect_event(&mut b.events, "alice unavailable after SIGTERM", |e| (alice_availability(e, &alice.jid) == Some(Availability::Offline)).then_some(())).await;
    let seen_offline = sent.elapsed();
    let status = tokio::task::block_in_place(|| poll("the app to exit after SIGTERM", Duration::from_secs(20), || app.0.try_wait().unwrap()));
    let exited = sent.elapsed();
    eprintln!("desktop_shutdown: bob saw alice unavailable {seen_offline:.1?} after SIGTERM; the app exited after {exited:.1?} with {status}");
    let log = log();
    assert_eq!(status.code(), Some(0), "the app did not exit with 0 after SIGTERM ({status}):\n{log}");
    assert!(log.contains("SIGTERM: signing out"), "the app did not log its SIGTERM handling:\n{log}");
    assert!(seen_offline < Duration::from_secs(10), "alice went unavailable only after {seen_offline:?}");

    let _ = credentials::delete_password(&alice.jid);
    b.session.disconnect().await;
}

//! End-to-end test of the real desktop app (src-tauri's `rapport-desktop` with the built UI),
//! driven through WebKitWebDriver under Xvfb against a real Prosody, with Bob on the engine.
//!
//! Runs only with `RAPPORT_E2E=1` (tests/run sets it in its desktop stage, after building the
//! app); otherwise it prints why it skipped. Needs `tests/install-e2e-deps` and the keyring
//! session bus `tests/run` provides. Screenshots: `target/e2e-screenshots/`.
//!
//! Elements are found by role, accessible name and label (XPath on `@role`, `@aria-label`,
//! `<label>` text), never by CSS class. Every wait polls with a deadline.

mod common;

use std::io::Write;
use std::time::Instant;

use common::*;
use rapport_engine::events::Event;
use rapport_system_tests::desktop::{built_app, labelled, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, TestUser, XmppServer};
use serde_json::json;

/// Fills the sign-in form (opening Advanced if needed) and submits it.
fn sign_in_form(d: &Driver, server: &XmppServer, user: &TestUser, password: &str, remember: bool) {
    d.wait("sign-in form", "//form[@aria-labelledby='signin-title']");
    d.fill(&d.wait("Address field", &labelled("Address")), &user.jid);
    d.fill(&d.wait("Password field", &labelled("Password")), password);
    let remember_box = d.wait("Remember me checkbox", "//label[contains(normalize-space(), 'Remember me')]//input[@type='checkbox']");
    if d.prop(&remember_box, "checked") != json!(remember) {
        d.click(&remember_box);
    }
    assert_eq!(d.prop(&remember_box, "checked"), json!(remember));
    let details = d.wait("Advanced section", "//details[summary[normalize-space()='Advanced']]");
    if d.prop(&details, "open") != json!(true) {
        d.click(&d.wait("Advanced summary", "//summary[normalize-space()='Advanced']"));
    }
    d.fill(&d.wait("Server host field", &labelled("Server host")), server.host());
    d.fill(&d.wait("Port field", &labelled("Port")), &server.starttls_port().to_string());
    d.fill(&d.wait("CA file field", &labelled("Extra CA certificate file")), &server.ca_file().to_string_lossy());
    d.click(&d.wait("Sign in button", "//form//button[@type='submit' and normalize-space()='Sign in']"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_app_signs_in_chats_and_keeps_the_password_out_of_files() {
    if std::env::var("RAPPORT_E2E").as_deref() != Ok("1") {
        // Straight to stderr: libtest's capture would hide a println! of a passing test.
        let _ = std::io::stderr().write_all(
            b"e2e: SKIPPED: set RAPPORT_E2E=1 to drive the real desktop app (tests/run does, in its desktop stage, after building src-tauri)\n",
        );
        return;
    }
    let started = Instant::now();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob")]);
    server.set_roster(&bob, &[RosterItem::new(&alice.jid).name("Alice")]);
    let mut b = sign_in(&server, &bob).await;

    let env = tokio::task::block_in_place(|| Env::start(&built_app()));
    eprintln!("e2e: app home/profile under {}", env.root.path().display());

    // --- Run 1: wrong password, then the right one without "remember me"; chat both ways.
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        d.wait("sign-in heading", "//h1[normalize-space()='Sign in to Rapport']");
        sign_in_form(&d, &server, &alice, "not-the-password", false);
        let password = d.wait("password field marked invalid", &format!("{}[@aria-invalid='true']", labelled("Password")));
        let described = d.attr(&password, "aria-describedby").expect("password field points at its error");
        let error = d.wait("password error", &format!("//*[@id='{described}' and @role='alert']"));
        let message = d.text(&error);
        assert!(!message.trim().is_empty(), "empty password error");
        eprintln!("e2e: wrong password error: {message:?}");
        d.screenshot("01-sign-in-wrong-password");
        // A failed attempt keeps the user's choices: an unticked "Remember me" stays unticked
        // (otherwise retyping the password would silently store it in the keyring).
        let remember_box = d.wait("Remember me checkbox", "//label[contains(normalize-space(), 'Remember me')]//input[@type='checkbox']");
        assert_eq!(d.prop(&remember_box, "checked"), json!(false), "'Remember me' was ticked again after the failed sign-in");

        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.wait("contacts list", "//ul[@aria-label='Contacts']");
        d.wait("Bob online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//*[@role='img' and @aria-label='Available']");
        d.click(&d.wait("Bob's row", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//button"));
        d.wait("conversation log", "//*[@role='log' and @aria-label='Messages with Bob']");
        d
    });

    b.session.send_message(&alice.jid, "Hi Alice, lunch at noon?").await.unwrap();
    tokio::task::block_in_place(|| {
        d.wait("Bob's message in the log", "//*[@role='log']//article[starts-with(@aria-label, 'Bob,')][contains(., 'Hi Alice, lunch at noon?')]");
        let composer = d.wait("Message textbox", "//textarea[@aria-label='Message']");
        d.type_text(&composer, "Sounds good, see you there\u{E007}");
        d.wait("own reply in the log", "//*[@role='log']//article[starts-with(@aria-label, 'You,')][contains(., 'Sounds good, see you there')]");
    });
    let got = expect_event(&mut b.events, "alice's reply at bob", |e| match e {
        Event::MessagesReceived { messages } => messages.iter().find(|m| m.body == "Sounds good, see you there").cloned(),
        _ => None,
    })
    .await;
    assert_eq!(got.conversation, alice.jid);

    tokio::task::block_in_place(|| {
        // The screenshot can lag a DOM change: wait for the composer to be empty again first.
        poll("composer cleared", UI_WAIT, || (d.prop(&d.wait("Message textbox", "//textarea[@aria-label='Message']"), "value") == json!("")).then_some(()));
        d.screenshot("02-main-window-light");
        let leaked = env.files_containing(&alice.password);
        assert!(leaked.is_empty(), "password found in files (remember me unticked): {leaked:?}");
        assert!(env.count_files() > 0, "the app wrote nothing under its isolated HOME/profile: is it isolated?");
        env.quit(d);
    });
    assert!(
        !matches!(rapport_engine::credentials::load_password(&alice.jid), Ok(p) if p == alice.password),
        "password in the keyring although remember me was unticked"
    );

    // --- Run 2: sign in again with "remember me": the keyring holds it, no file does.
    tokio::task::block_in_place(|| {
        let d = env.launch();
        sign_in_form(&d, &server, &alice, &alice.password, true);
        d.wait("Bob online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//*[@role='img' and @aria-label='Available']");
        poll("password in the keyring", UI_WAIT, || {
            matches!(rapport_engine::credentials::load_password(&alice.jid), Ok(p) if p == alice.password).then_some(())
        });
        let leaked = env.files_containing(&alice.password);
        assert!(leaked.is_empty(), "password found in files (remember me ticked): {leaked:?}");
        env.quit(d);
    });
    let _ = rapport_engine::credentials::delete_password(&alice.jid);
    b.session.disconnect().await;
    eprintln!("e2e: passed in {:.1?}", started.elapsed());
}

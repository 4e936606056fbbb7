//! End-to-end tests of the real desktop app (src-tauri's `rapport-desktop` with the built UI),
//! driven through WebKitWebDriver under Xvfb against a real Prosody, with the peers on the engine.
//!
//! Run only with `RAPPORT_E2E=1` (tests/run sets it in its desktop stage, after building the
//! app); otherwise they print why they skipped. Need `tests/install-e2e-deps` and the keyring
//! session bus `tests/run` provides. Screenshots: `target/e2e-screenshots/`.
//!
//! Elements are found by role, accessible name and label (XPath on `@role`, `@aria-label`,
//! `<label>` text), never by CSS class. Every wait polls with a deadline.
//!
//! The tests of this binary run one at a time ([`serial`]): they share the session bus of
//! tests/run, where only one notification daemon can own its name, and two WebKit apps at once
//! are slow on a 2-core machine. tests/run's desktop stage runs this one binary, so new
//! end-to-end tests are modules of it (tests/system/e2e/*.rs).

mod common;
#[path = "e2e/delivery.rs"]
mod delivery;
#[path = "e2e/hostile.rs"]
mod hostile;
#[path = "e2e/rooms.rs"]
mod rooms;

use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use common::*;
use rapport_engine::events::Event;
use rapport_system_tests::desktop::{built_app, copy_app, labelled, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, TestUser, XmppServer};
use serde_json::json;

/// False (after saying why on stderr) unless `RAPPORT_E2E=1`.
fn e2e_enabled() -> bool {
    if std::env::var("RAPPORT_E2E").as_deref() == Ok("1") {
        return true;
    }
    // Straight to stderr: libtest's capture would hide a println! of a passing test.
    let _ = std::io::stderr().write_all(
        b"e2e: SKIPPED: set RAPPORT_E2E=1 to drive the real desktop app (tests/run does, in its desktop stage, after building src-tauri)\n",
    );
    false
}

/// Held for the whole of each test: one app (and one dunst) at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// XPath of the list under the heading `title` (e.g. "Conversations").
fn list_titled(title: &str) -> String {
    format!("//ul[@aria-labelledby=//h2[normalize-space()='{title}']/@id]")
}

/// Fills the sign-in form (opening Advanced if needed) and submits it.
fn sign_in_form(d: &Driver, server: &XmppServer, user: &TestUser, password: &str, remember: bool) {
    sign_in_form_at(d, server, server.starttls_port(), user, password, remember);
}

/// [`sign_in_form`] with another port on the server's host (a proxy's).
fn sign_in_form_at(d: &Driver, server: &XmppServer, port: u16, user: &TestUser, password: &str, remember: bool) {
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
    d.fill(&d.wait("Port field", &labelled("Port")), &port.to_string());
    d.fill(&d.wait("CA file field", &labelled("Extra CA certificate file")), &server.ca_file().to_string_lossy());
    d.click(&d.wait("Sign in button", "//form//button[@type='submit' and normalize-space()='Sign in']"));
}

/// The main screens (with Bob's conversation open) in the current theme: the main window, the
/// settings dialog (where `theme`, when given, is chosen first), the quick switcher and a search.
fn screens(d: &Driver, first: usize, theme: Option<&str>, suffix: &str) {
    let bob_log = "//*[@role='log' and @aria-label='Messages with Bob']";
    d.wait("Bob's conversation", bob_log);

    open_settings(d);
    if let Some(theme) = theme {
        pick_theme(d, theme);
    }
    d.screenshot(&format!("{:02}-settings-{suffix}", first + 1));
    close_settings(d);
    d.screenshot(&format!("{:02}-main-window-{suffix}", first));

    // Quick switcher: Ctrl+K from the composer, "Bo" typed.
    let composer = d.wait("Message textbox", "//textarea[@aria-label='Message']");
    d.type_text(&composer, "\u{E009}k\u{E000}");
    let switcher = "//*[@role='dialog' and @aria-label='Jump to conversation']";
    d.wait("quick switcher", switcher);
    let jump = d.wait("Jump to combobox", &format!("{switcher}//input[@role='combobox' and @aria-label='Jump to']"));
    d.type_text(&jump, "Bo");
    d.wait("Bob offered", &format!("{switcher}//*[@role='option' and @aria-selected='true'][contains(., 'Bob')]"));
    d.screenshot(&format!("{:02}-quick-switcher-{suffix}", first + 2));
    d.type_text(&jump, "\u{E00C}");
    poll("quick switcher closed", UI_WAIT, || d.find_all(switcher).is_empty().then_some(()));

    // Search across the history, with the match highlighted.
    let search = d.wait("Search messages field", "//*[@role='search']//input[@aria-label='Search messages']");
    d.fill(&search, "lunch");
    d.type_text(&search, "\u{E007}");
    d.wait("search hit", "//ul[@aria-label='Search results']/li[.//mark[normalize-space()='lunch']]");
    d.screenshot(&format!("{:02}-search-{suffix}", first + 3));
    d.click(&d.wait("Close search button", "//button[normalize-space()='Close search']"));
    poll("search closed", UI_WAIT, || d.find_all("//ul[@aria-label='Search results']").is_empty().then_some(()));
}

/// The Settings dialog.
const SETTINGS_DIALOG: &str = "//*[@role='dialog' and @aria-labelledby=//h2[normalize-space()='Settings']/@id]";

fn open_settings(d: &Driver) {
    d.click(&d.wait("Settings button", "//button[normalize-space()='Settings…']"));
    d.wait("Settings dialog", SETTINGS_DIALOG);
}

fn close_settings(d: &Driver) {
    d.click(&d.wait("Settings Close button", &format!("{SETTINGS_DIALOG}//button[normalize-space()='Close']")));
    poll("Settings dialog closed", UI_WAIT, || d.find_all(SETTINGS_DIALOG).is_empty().then_some(()));
}

/// In the open Settings dialog: the select labelled "Theme" set to `theme`, and the page in it.
fn pick_theme(d: &Driver, theme: &str) {
    let select = format!("{SETTINGS_DIALOG}//label[starts-with(normalize-space(), 'Theme')]//select");
    let select_el = d.wait("Theme select", &select);
    d.click(&d.wait("theme option", &format!("{select}/option[@value='{theme}']")));
    poll(&format!("theme {theme} chosen"), UI_WAIT, || (d.prop(&select_el, "value") == json!(theme)).then_some(()));
    poll(&format!("the page in the {theme} theme"), UI_WAIT, || (page_is_dark(d) == (theme == "dark")).then_some(()));
}

/// Switches the app to `theme` through the Settings dialog.
fn choose_theme(d: &Driver, theme: &str) {
    open_settings(d);
    pick_theme(d, theme);
    close_settings(d);
}

/// Whether the page background is dark (relative luminance below one half).
fn page_is_dark(d: &Driver) -> bool {
    let script = "const c = getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).map(Number); \
                  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;";
    d.execute(script, json!([])).unwrap().as_f64().unwrap_or(1.0) < 0.5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_app_signs_in_chats_notifies_and_remembers() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    let started = Instant::now();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let carol = server.create_user("carol");
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob"), RosterItem::new(&carol.jid).name("Carol")]);
    server.set_roster(&bob, &[RosterItem::new(&alice.jid).name("Alice")]);
    server.set_roster(&carol, &[RosterItem::new(&alice.jid).name("Alice")]);
    let mut b = sign_in(&server, &bob).await;
    let c = sign_in(&server, &carol).await;

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    eprintln!("e2e: app home/profile under {}", env.root.path().display());
    let bare = rapport_engine::config::parse_account_jid(&alice.jid).unwrap();
    let history_file = rapport_engine::Profile::at(env.profile_dir()).history_path(&bare);
    // Failures that do not stop the test (reported together at its end).
    let mut failures: Vec<String> = Vec::new();

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
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "Sounds good, see you there").cloned(),
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

    // --- Run 3: the app signs in by itself; the conversation and its history are there; the
    // main screens in light and dark.
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        let conversations = list_titled("Conversations");
        d.wait("Bob's conversation listed (signed in by itself)", &format!("{conversations}/li[@aria-label='Bob']"));
        assert!(d.find_all("//form[@aria-labelledby='signin-title']").is_empty(), "the sign-in form is shown although the password is remembered");
        d.click(&d.wait("Bob's conversation row", &format!("{conversations}/li[@aria-label='Bob']//button")));
        let log = "//*[@role='log' and @aria-label='Messages with Bob']";
        d.wait("Bob's earlier message after the restart", &format!("{log}//article[starts-with(@aria-label, 'Bob,')][contains(., 'Hi Alice, lunch at noon?')]"));
        d.wait("own earlier reply after the restart", &format!("{log}//article[starts-with(@aria-label, 'You,')][contains(., 'Sounds good, see you there')]"));
        // In the order they were written (top to bottom on the screen).
        d.settle();
        let shown = d
            .execute(
                "return [...document.querySelectorAll('[role=log] article')].sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map((a) => a.textContent);",
                json!([]),
            )
            .unwrap();
        let shown: Vec<&str> = shown.as_array().into_iter().flatten().filter_map(|t| t.as_str()).collect();
        // Checked at the end, so that one wrong order does not hide the rest of the test.
        if !(shown.len() == 2 && shown[0].contains("Hi Alice, lunch at noon?") && shown[1].contains("Sounds good, see you there")) {
            failures.push(format!("the history after the restart is not oldest first: {shown:?}"));
        }
        d.wait("Bob online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//*[@role='img' and @aria-label='Available']");
        screens(&d, 3, Some("light"), "light");
        assert!(!page_is_dark(&d), "the light theme has a dark background");
        screens(&d, 7, Some("dark"), "dark");
        assert!(page_is_dark(&d), "the dark theme has a light background");
        d
    });

    // --- A message from Bob while Carol's conversation is open reaches the notification daemon
    // with Bob's name and the text.
    tokio::task::block_in_place(|| {
        env.wait_for_notification_daemon();
        d.click(&d.wait("Carol's row", "//ul[@aria-label='Contacts']/li[@aria-label='Carol']//button"));
        d.wait("Carol's conversation", "//*[@role='log' and @aria-label='Messages with Carol']");
        // The UI reports the open conversation to the app (set_view) when it opens it: the
        // composer of Carol's conversation is there once that ran.
        d.wait("Message textbox", "//main[@aria-label='Conversation with Carol']//textarea[@aria-label='Message']");
        d.settle();
        let before = env.notifications();
        assert!(!before.iter().any(|(_, body)| body.contains("Are you free at three?")), "notification before the message: {before:?}");
    });
    b.session.send_message(&alice.jid, "Are you free at three?").await.unwrap();
    tokio::task::block_in_place(|| {
        let shown = poll("Bob's notification in dunst", UI_WAIT, || {
            let all = env.notifications();
            all.into_iter().find(|(_, body)| body.contains("Are you free at three?"))
        });
        assert_eq!(shown.0, "Bob", "notification summary is not the sender's name: {shown:?}");
        assert_eq!(shown.1, "Are you free at three?", "notification body is not the message: {shown:?}");
        // And the sidebar counts it as unread.
        d.wait("Bob's unread badge", &format!("{}/li[@aria-label='Bob']//*[@aria-label='1 unread']", list_titled("Conversations")));
    });
    drop(c);

    // --- A long message with a link in the middle: the link is detected, and it flows with the
    // text (it starts on a later line than the text, not in a column of its own at the top).
    let before_link = "We could also meet on the terrace if the weather holds, otherwise in the small room on the \
                       second floor next to the kitchen, which is free all afternoon according to the booking page:";
    let long = format!("{before_link} https://example.com/agenda and please bring the slides.");
    tokio::task::block_in_place(|| {
        d.click(&d.wait("Bob's conversation row", &format!("{}/li[@aria-label='Bob']//button", list_titled("Conversations"))));
        d.wait("Bob's conversation", "//*[@role='log' and @aria-label='Messages with Bob']");
    });
    b.session.send_message(&alice.jid, &long).await.unwrap();
    tokio::task::block_in_place(|| {
        let link = d.wait("the link in Bob's long message", "//*[@role='log']//article[contains(., 'please bring the slides')]//a[@href='https://example.com/agenda']");
        assert_eq!(d.text(&link), "https://example.com/agenda");
        d.settle();
        let place = d
            .execute(
                "const a = [...document.querySelectorAll('[role=log] article a')].find((a) => a.getAttribute('href') === 'https://example.com/agenda'); \
                 const p = a.parentElement; const line = a.getClientRects()[0]; \
                 return [line.top - p.getBoundingClientRect().top, a.getBoundingClientRect().height, p.getBoundingClientRect().width];",
                json!([]),
            )
            .unwrap();
        let (offset, height) = (place[0].as_f64().unwrap_or(0.0), place[1].as_f64().unwrap_or(0.0));
        if offset < height / 2.0 {
            let shot = d.screenshot("12-long-message-with-link-FAILED");
            failures.push(format!(
                "a link after {} characters of text sits on the first line of its message ([top offset, link height, body width] = {place}): the text is laid out in columns, not lines (screenshot {})",
                before_link.len(),
                shot.display()
            ));
        } else {
            d.screenshot("12-long-message-with-link");
        }
    });

    // --- Sign out: the form again, the password stays in the keyring.
    tokio::task::block_in_place(|| {
        // The account's actions are in the Settings dialog (the top bar has no room for them).
        d.click(&d.wait("Settings button", "//button[normalize-space()='Settings…']"));
        let settings = "//*[@role='dialog' and @aria-labelledby=//h2[normalize-space()='Settings']/@id]";
        d.click(&d.wait("Sign out button", &format!("{settings}//button[normalize-space()='Sign out']")));
        d.wait("sign-in form after signing out", "//form[@aria-labelledby='signin-title']");
        assert!(
            matches!(rapport_engine::credentials::load_password(&alice.jid), Ok(p) if p == alice.password),
            "signing out removed the remembered password"
        );
        assert!(history_file.is_file(), "no history at {} after signing out", history_file.display());

        // --- Forget this account (with its history): keyring entry, account and history go.
        sign_in_form(&d, &server, &alice, &alice.password, true);
        d.wait("contacts list", "//ul[@aria-label='Contacts']");
        d.click(&d.wait("Settings button", "//button[normalize-space()='Settings…']"));
        d.click(&d.wait("Forget button", &format!("{settings}//button[normalize-space()='Forget this account…']")));
        let confirm = format!("//*[@role='alertdialog' and @aria-labelledby=//h2[normalize-space()='Forget {}?']/@id]", alice.jid);
        d.wait("forget confirmation", &confirm);
        d.screenshot("11-forget-account-dark");
        let delete_history = d.wait("delete history checkbox", &format!("{confirm}//label[contains(normalize-space(), 'delete the local message history')]//input[@type='checkbox']"));
        d.click(&delete_history);
        assert_eq!(d.prop(&delete_history, "checked"), json!(true));
        d.click(&d.wait("Forget account button", &format!("{confirm}//button[normalize-space()='Forget account']")));
        d.wait("sign-in form after forgetting", "//form[@aria-labelledby='signin-title']");
        poll("keyring entry removed", UI_WAIT, || rapport_engine::credentials::load_password(&alice.jid).is_err().then_some(()));
        poll("history removed", UI_WAIT, || (!history_file.exists()).then_some(()));
        let accounts = rapport_engine::Profile::at(env.profile_dir()).accounts().unwrap();
        assert!(accounts.iter().all(|a| a.jid != alice.jid), "the forgotten account is still saved: {:?}", accounts.iter().map(|a| &a.jid).collect::<Vec<_>>());
        env.quit(d);

        // --- Run 4: nothing remembered: the empty form, no automatic sign-in.
        let d = env.launch();
        d.wait("sign-in heading", "//h1[normalize-space()='Sign in to Rapport']");
        let address = d.wait("Address field", &labelled("Address"));
        assert_eq!(d.prop(&address, "value"), json!(""), "the forgotten address is still prefilled");
        assert!(d.find_all("//ul[@aria-label='Contacts']").is_empty(), "signed in after the account was forgotten");
        env.quit(d);
    });
    let _ = rapport_engine::credentials::delete_password(&alice.jid);
    b.session.disconnect().await;
    assert!(failures.is_empty(), "e2e: {} failure(s):\n{}", failures.len(), failures.join("\n"));
    eprintln!("e2e: passed in {:.1?}", started.elapsed());
}

//! Issue 4 in the real app: what the peer does shows up here. Bob's engine types (chat states)
//! → "Bob is typing…" appears and goes; our typing reaches Bob as `composing`; Bob's client receives our message (receipt) and Bob
//! reads it (displayed marker) → our message shows "Delivered", then "Read"; the other way, Bob
//! sees his message read here unless "Send read receipts" is off; a message to an
//! address the server does not know fails → "Not sent" with Retry and Delete, by keyboard.
//! And through a proxy that cuts the app's connection: the banner counts down with "Retry now",
//! a message written meanwhile waits as "Sending…" and goes out when the connection is back,
//! and what Bob sent meanwhile (the server restarted: a fresh session, caught up from the
//! archive) gives ONE notification. Screenshots in both themes.

use rapport_engine::events::Event;
use rapport_engine::types::{ChatState, DeliveryState};
use rapport_system_tests::desktop::{built_app, copy_app, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::proxy::ChaosProxy;
use rapport_system_tests::server::{RosterItem, XmppServer};
use serde_json::json;

use super::common::{expect_event, sign_in};
use super::{choose_theme, close_settings, e2e_enabled, open_settings, serial, sign_in_form, sign_in_form_at, SETTINGS_DIALOG};

const BOB_LOG: &str = "//*[@role='log' and @aria-label='Messages with Bob']";
const TYPING: &str = "//main[@aria-label='Conversation with Bob']//*[@role='status' and @aria-live='polite']";

/// XPath of our own message with `text` in the open log.
fn own_message(text: &str) -> String {
    format!("//*[@role='log']//article[starts-with(@aria-label, 'You,')][contains(., '{text}')]")
}

/// XPath of the delivery mark named `state` ("Sent", "Delivered", "Read") of our message `text`.
fn mark(text: &str, state: &str) -> String {
    format!("{}//*[@role='img' and @aria-label='{state}']", own_message(text))
}

/// Types `text` into the open conversation's composer and sends it with Enter.
fn send(d: &Driver, text: &str) {
    let composer = d.wait("Message textbox", "//textarea[@aria-label='Message']");
    d.type_text(&composer, &format!("{text}\u{E007}"));
    d.wait("own message in the log", &own_message(text));
}

/// XPath of the connection status region (the banner).
const CONNECTION: &str = "//*[@role='status' and contains(concat(' ', @class, ' '), ' connection ')]";

fn banner_text(d: &Driver) -> String {
    d.find_all(CONNECTION).first().map(|b| d.text(b).trim().to_owned()).unwrap_or_default()
}

fn typing_text(d: &Driver) -> String {
    d.text(&d.wait("typing status", TYPING)).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_markers_typing_and_failed_messages_show_in_the_app() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    let started = std::time::Instant::now();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    // An address on the server that no account has: messages to it come back as errors.
    let nobody = format!("nobody-{}@{}", std::process::id(), server.domain());
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob"), RosterItem::new(&nobody).name("Nobody")]);
    // Bob has Alice with subscription both: his client sends her receipts and markers.
    server.set_roster(&bob, &[RosterItem::new(&alice.jid).name("Alice")]);
    let mut b = sign_in(&server, &bob).await;

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.wait("Bob online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//*[@role='img' and @aria-label='Available']");
        d.click(&d.wait("Bob's row", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//button"));
        d.wait("Bob's conversation", BOB_LOG);
        assert_eq!(typing_text(&d), "", "a typing indicator before anyone typed");
        d
    });

    // --- Bob types: the indicator shows; he pauses: it goes.
    b.session.set_chat_state(&alice.jid, ChatState::Composing).await.unwrap();
    tokio::task::block_in_place(|| {
        poll("'Bob is typing…' shown", UI_WAIT, || (typing_text(&d) == "Bob is typing…").then_some(()));
        d.screenshot("30-typing-light");
    });
    b.session.set_chat_state(&alice.jid, ChatState::Paused).await.unwrap();
    tokio::task::block_in_place(|| poll("typing indicator gone after paused", UI_WAIT, || typing_text(&d).is_empty().then_some(())));

    // --- Our message: sent, delivered (Bob's client has it), read (Bob opened the conversation).
    let text = "Did you get the slides?";
    tokio::task::block_in_place(|| send(&d, text));
    // Typing it told Bob (set_chat_state from the composer), before the message itself.
    expect_event(&mut b.events, "Alice composing, at Bob", |e| match e {
        Event::ChatStateChanged { conversation, state: ChatState::Composing } if *conversation == alice.jid => Some(()),
        _ => None,
    })
    .await;
    expect_event(&mut b.events, "Alice's message at Bob", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().any(|m| m.body == text).then_some(()),
        _ => None,
    })
    .await;
    tokio::task::block_in_place(|| {
        d.wait("our message marked Delivered", &mark(text, "Delivered"));
    });
    b.session.mark_read(&alice.jid).await.unwrap();
    tokio::task::block_in_place(|| {
        d.wait("our message marked Read", &mark(text, "Read"));
        d.screenshot("31-read-light");
    });

    // --- Our read receipts: on by default, Bob sees his message Read once the app shows it; with
    // "Send read receipts" off (Settings, Privacy) he sees Delivered and no more.
    let seen = "Here is the agenda";
    let sent = b.session.send_message(&alice.jid, seen).await.unwrap();
    expect_event(&mut b.events, "Bob's message read in the app", |e| match e {
        Event::MessageUpdated { id, state: DeliveryState::Read, .. } if *id == sent.id => Some(()),
        _ => None,
    })
    .await;
    tokio::task::block_in_place(|| {
        open_settings(&d);
        let switch = d.wait("Send read receipts switch", &format!("{SETTINGS_DIALOG}//label[contains(normalize-space(), 'Send read receipts')]//input[@role='switch']"));
        assert_eq!(d.prop(&switch, "checked"), json!(true), "read receipts are on by default");
        d.click(&switch);
        poll("read receipts off", UI_WAIT, || (d.prop(&switch, "checked") == json!(false)).then_some(()));
        close_settings(&d);
    });
    let unseen = "And the minutes";
    let sent = b.session.send_message(&alice.jid, unseen).await.unwrap();
    expect_event(&mut b.events, "Bob's second message delivered", |e| match e {
        Event::MessageUpdated { id, state: DeliveryState::Delivered, .. } if *id == sent.id => Some(()),
        _ => None,
    })
    .await;
    tokio::task::block_in_place(|| {
        d.wait("Bob's second message shown", &format!("{BOB_LOG}//article[starts-with(@aria-label, 'Bob,')][contains(., '{unseen}')]"));
    });
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        expect_event(&mut b.events, "a Read marker although they are off", |e| match e {
            Event::MessageUpdated { id, state: DeliveryState::Read, .. } if *id == sent.id => Some(()),
            _ => None,
        })
        .await
    })
    .await;
    assert!(read.is_err(), "Bob saw his message Read although 'Send read receipts' is off");

    // --- A message to an unknown address fails: "Not sent", Retry (fails again), Delete.
    let lost = "Anyone there?";
    tokio::task::block_in_place(|| {
        choose_theme(&d, "dark");
        d.click(&d.wait("Nobody's row", "//ul[@aria-label='Contacts']/li[@aria-label='Nobody']//button"));
        d.wait("Nobody's conversation", "//*[@role='log' and @aria-label='Messages with Nobody']");
        send(&d, lost);
        let failed = format!("{}[.//*[normalize-space()='Not sent']]", own_message(lost));
        d.wait("the message to nobody marked Not sent", &failed);
        d.screenshot("32-not-sent-dark");
        let retry = d.wait("Retry button", &format!("{failed}//button[normalize-space()='Retry']"));
        // By keyboard: Enter sent to the button (WebDriver focuses it first).
        d.type_text(&retry, "\u{E007}");
        // The retry fails again ("Not sent" comes back; Delete is refused while it is on the
        // wire): Delete once it is offered, until the message is gone.
        poll("the failed message deleted", UI_WAIT, || {
            if let Some(delete) = d.find_all(&format!("{failed}//button[normalize-space()='Delete']")).first() {
                let _ = d.call("POST", &format!("/element/{}/click", delete.0), Some(json!({})));
            }
            d.find_all(&own_message(lost)).is_empty().then_some(())
        });
        // A refused Delete (the retry still on the wire) leaves an error banner: dismiss it.
        for dismiss in d.find_all("//*[@role='alert']//button[normalize-space()='Dismiss']") {
            let _ = d.call("POST", &format!("/element/{}/click", dismiss.0), Some(json!({})));
        }
        choose_theme(&d, "light");
        env.quit(d);
    });
    b.session.disconnect().await;
    eprintln!("e2e: delivery states, typing and failed messages passed in {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_shows_a_countdown_queues_messages_and_catches_up_with_one_notification() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    let started = std::time::Instant::now();
    assert_secret_service();

    let mut server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let nobody = format!("nobody-{}@{}", std::process::id(), server.domain());
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob"), RosterItem::new(&nobody).name("Nobody")]);
    server.set_roster(&bob, &[RosterItem::new(&alice.jid).name("Alice")]);
    let b = sign_in(&server, &bob).await;
    // The app connects through the proxy; Bob directly.
    let proxy = ChaosProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], server.starttls_port())));

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    let queued = "Written while the connection was down";
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        sign_in_form_at(&d, &server, proxy.port(), &alice, &alice.password, false);
        d.wait("Bob online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//*[@role='img' and @aria-label='Available']");
        d.click(&d.wait("Bob's row", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//button"));
        d.wait("Bob's conversation", BOB_LOG);
        assert_eq!(banner_text(&d), "", "a connection banner while online");
        env.wait_for_notification_daemon();
        d
    });
    // One message while online: the app's store now knows where the server's archive is (the
    // checkpoint a later catch-up starts from).
    let before = "Before the cut";
    b.session.send_message(&alice.jid, before).await.unwrap();
    tokio::task::block_in_place(|| {
        d.wait("Bob's message before the cut", &format!("{BOB_LOG}//article[starts-with(@aria-label, 'Bob,')][contains(., '{before}')]"));

        // --- The connection drops and new ones are refused: "Connection lost — retrying in N s".
        proxy.refuse_new(true);
        proxy.cut_all();
        poll("'Connection lost' in the banner", UI_WAIT, || banner_text(&d).starts_with("Connection lost").then_some(()));
        // "Retry now" is offered while the countdown runs (it asks for the next attempt at once).
        let refused = proxy.total_refused();
        poll("'Retry now' clicked", UI_WAIT, || {
            let button = d.find_all(&format!("{CONNECTION}//button[normalize-space()='Retry now']")).into_iter().next()?;
            let countdown = banner_text(&d);
            d.call("POST", &format!("/element/{}/click", button.0), Some(json!({}))).ok()?;
            eprintln!("e2e: clicked Retry now at {countdown:?}");
            Some(())
        });
        poll("an attempt after Retry now (refused by the proxy)", UI_WAIT, || (proxy.total_refused() > refused).then_some(()));
        d.screenshot("33-connection-lost-light");

        // --- Sending still works: the message waits as "Sending…".
        send(&d, queued);
        d.wait("the queued message marked Sending…", &mark(queued, "Sending…"));
    });

    // --- The server restarts (no resumption is possible); Bob writes while the app is away.
    tokio::task::block_in_place(|| server.restart());
    b.session.disconnect().await;
    let mut b = sign_in(&server, &bob).await;
    let missed = ["Missed one", "Missed two", "Missed three"];
    for text in missed {
        b.session.send_message(&alice.jid, text).await.unwrap();
    }
    tokio::task::block_in_place(|| {
        // Another conversation open: Bob's messages deserve a notification.
        d.click(&d.wait("Nobody's row", "//ul[@aria-label='Contacts']/li[@aria-label='Nobody']//button"));
        d.wait("Nobody's conversation", "//*[@role='log' and @aria-label='Messages with Nobody']");
        d.settle();
        proxy.refuse_new(false);
        poll("the banner gone (online, caught up)", UI_WAIT, || banner_text(&d).is_empty().then_some(()));
    });
    expect_event(&mut b.events, "the queued message at Bob", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().any(|m| m.body == queued).then_some(()),
        _ => None,
    })
    .await;
    tokio::task::block_in_place(|| {
        // Bob's three messages give one notification: they come from the archive catch-up (the
        // copies Prosody's offline store pushes at sign-in are held and dropped as repeats).
        let about_missed = |all: &[(String, String)]| -> Vec<(String, String)> {
            all.iter().filter(|(s, b)| s.contains("new messages") || missed.iter().any(|m| b.contains(m))).cloned().collect()
        };
        let shown = poll("a notification about Bob's messages", UI_WAIT, || about_missed(&env.notifications()).into_iter().next());
        eprintln!("e2e: notification for what arrived while the app was away: {shown:?}");
        assert_eq!(shown, ("3 new messages while you were offline".to_owned(), "Bob: Missed three".to_owned()));
        d.settle();
        let all = env.notifications();
        assert_eq!(about_missed(&all).len(), 1, "one notification for what arrived while away, not one per message: {all:?}");

        d.click(&d.wait("Bob's conversation row", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//button"));
        d.wait("Bob's conversation", BOB_LOG);
        for text in missed {
            d.wait("a message Bob sent while the app was away", &format!("{BOB_LOG}//article[starts-with(@aria-label, 'Bob,')][contains(., '{text}')]"));
        }
        poll("the queued message no longer Sending…", UI_WAIT, || d.find_all(&mark(queued, "Sending…")).is_empty().then_some(()));
        d.screenshot("34-caught-up-light");
        env.quit(d);
    });
    b.session.disconnect().await;
    eprintln!("e2e: connection loss, queued message and catch-up passed in {:.1?}", started.elapsed());
}

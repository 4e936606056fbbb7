//! Issue 4 in the real app: what the peer does shows up here. Bob's engine types (chat states)
//! → "Bob is typing…" appears and goes; Bob's client receives our message (receipt) and Bob
//! reads it (displayed marker) → our message shows "Delivered", then "Read"; a message to an
//! address the server does not know fails → "Not sent" with Retry and Delete, by keyboard.
//! Screenshots in both themes.

use rapport_engine::events::Event;
use rapport_engine::types::ChatState;
use rapport_system_tests::desktop::{built_app, copy_app, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, XmppServer};

use super::common::{expect_event, sign_in};
use super::{choose_theme, e2e_enabled, serial, sign_in_form};

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
        d.wait("Not sent again after the retry", &failed);
        let delete = d.wait("Delete button", &format!("{failed}//button[normalize-space()='Delete']"));
        d.click(&delete);
        poll("the failed message deleted", UI_WAIT, || d.find_all(&own_message(lost)).is_empty().then_some(()));
        choose_theme(&d, "light");
        env.quit(d);
    });
    b.session.disconnect().await;
    eprintln!("e2e: delivery states, typing and failed messages passed in {:.1?}", started.elapsed());
}

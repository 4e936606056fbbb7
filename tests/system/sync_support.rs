//! Helpers of engine_sync.rs: devices (a session and its events), waits on delivery states and
//! bodies, raw clients for hostile stanzas.

use super::*;


/// One running session and its events (its store lives wherever it was started).
pub struct Device {
    pub session: Session,
    pub events: broadcast::Receiver<Event>,
    /// The profile directory, when the device made its own.
    pub _dir: Option<tempfile::TempDir>,
}

/// With `RUST_LOG` set (e.g. `rapport_engine=debug`), the engine's logs go to the test output.
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    }
}

pub async fn start(config: AccountConfig, user: &TestUser, dir: &std::path::Path, options: SessionOptions) -> Device {
    init_logs();
    rapport_engine::init_crypto();
    let session = Session::start(&Profile::at(dir), config, user.password.clone(), options)
        .await
        .unwrap_or_else(|e| panic!("{} could not start: {e}", user.jid));
    let events = session.subscribe();
    Device { session, events, _dir: None }
}

/// A new device of `user` (its own empty profile), online.
pub async fn online(server: &XmppServer, user: &TestUser) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let mut device = start(account(server, user), user, dir.path(), SessionOptions::default()).await;
    device.session.wait_online(WAIT).await.unwrap();
    device._dir = Some(dir);
    device
}

/// Alice and Bob, in each other's roster (subscription both), both online.
pub async fn contacts_online(server: &XmppServer) -> (TestUser, TestUser, Device, Device) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    mutual(server, &alice, &bob);
    let a = online(server, &alice).await;
    let b = online(server, &bob).await;
    (alice, bob, a, b)
}

/// Both users have each other in their rosters with subscription `both` (before they sign in).
pub fn mutual(server: &XmppServer, a: &TestUser, b: &TestUser) {
    server.set_roster(a, &[RosterItem::new(&b.jid)]);
    server.set_roster(b, &[RosterItem::new(&a.jid)]);
}

pub async fn expect_state(events: &mut broadcast::Receiver<Event>, id: MessageId, wanted: DeliveryState) {
    expect_event(events, &format!("message {id} {wanted:?}"), |e| {
        matches!(e, Event::MessageUpdated { id: i, state, .. } if *i == id && *state == wanted).then_some(())
    })
    .await
}

/// The first received message with `body` (and whether it came with `catch_up`).
pub async fn expect_body(events: &mut broadcast::Receiver<Event>, body: &str) -> (Message, bool) {
    expect_event(events, &format!("message {body:?}"), |e| match e {
        Event::MessagesReceived { messages, catch_up } => messages.iter().find(|m| m.body == body).map(|m| (m.clone(), *catch_up)),
        _ => None,
    })
    .await
}

pub fn history(session: &Session, conversation: &str) -> Vec<Message> {
    session.store().history(conversation, None, 1000).unwrap()
}

pub fn count(session: &Session, conversation: &str, body: &str) -> usize {
    history(session, conversation).iter().filter(|m| m.body == body).count()
}

pub fn state_of(session: &Session, id: MessageId) -> DeliveryState {
    session.store().message(id).unwrap().expect("message stored").state
}

/// Runs blocking raw-client work without stalling the runtime.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

pub fn raw_login(server: &XmppServer, user: &TestUser, resource: &str) -> RawClient {
    blocking(|| RawClient::login_as(server, user, resource)).unwrap_or_else(|e| panic!("raw login {}: {e}", user.jid))
}

pub fn raw_send(raw: &mut RawClient, xml: &str) {
    blocking(|| raw.send(xml)).unwrap();
}

/// Returns once the server has processed everything this client sent before (an IQ
/// round trip on the same stream): what it routed to others is queued ahead of anything sent
/// to them later.
pub fn raw_flush(raw: &mut RawClient) {
    let id = uuid();
    blocking(|| raw.iq(&id, &format!("<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>"))).unwrap();
}

/// Available presence, processed by the server (messages to the bare JID now reach us).
pub fn raw_available(raw: &mut RawClient) {
    raw_send(raw, "<presence/>");
    raw_flush(raw);
}

/// Everything the raw client received up to and including `needle`.
pub fn raw_read_until(raw: &mut RawClient, needle: &str) -> String {
    blocking(|| raw.read_until(needle, WAIT)).unwrap_or_else(|e| panic!("raw client waiting for {needle:?}: {e}"))
}

/// A plain chat message from a raw client: the barrier after a suspect stanza.
pub fn raw_message(to: &str, body: &str) -> String {
    format!("<message type='chat' to='{to}' id='{}'><body>{body}</body></message>", uuid())
}

pub fn uuid() -> String {
    format!("{:016x}", rand_u64())
}

pub fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now())
}

/// Nothing from a forged stanza reached the store: no message with `marker` in its body, in
/// any conversation.
pub async fn assert_nothing_stored(session: &Session, marker: &str) {
    let hits = session.search(marker, None, 50).await.unwrap();
    assert!(hits.is_empty(), "a forged message was stored: {hits:#?}");
    let conversations = session.conversations().await.unwrap();
    let forged: Vec<_> = conversations.iter().filter(|c| c.last_message.as_ref().is_some_and(|m| m.body.contains(marker))).collect();
    assert!(forged.is_empty(), "{forged:#?}");
}


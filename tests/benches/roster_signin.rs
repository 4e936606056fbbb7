//! Sign-in to a roster of 5,000 contacts on a real Prosody: time from `Session::start` to the
//! `RosterLoaded` event, first with an empty cache and then with the versioned cache.
//!
//! cargo bench -p rapport-system-tests --bench roster_signin

use std::time::Instant;

use rapport_engine::events::Event;
use rapport_engine::{AccountConfig, Profile, Session, SessionOptions};
use rapport_system_tests::server::{RosterItem, Subscription, XmppServer};

const CONTACTS: usize = 5_000;

async fn time_to_roster(server: &XmppServer, account: &AccountConfig, password: &str, profile: &Profile) -> (f64, usize) {
    let started = Instant::now();
    let session = Session::start(profile, account.clone(), password.into(), SessionOptions::default()).await.expect("sign in");
    let mut events = session.subscribe();
    // The roster may already have arrived before we subscribed.
    let count = loop {
        if session.roster().len() >= CONTACTS && matches!(session.connection_state(), rapport_engine::ConnectionState::Online { .. }) {
            break session.roster().len();
        }
        match tokio::time::timeout(std::time::Duration::from_secs(60), events.recv()).await {
            Ok(Ok(Event::RosterLoaded { items })) => break items.len(),
            Ok(Ok(_)) => {}
            other => panic!("no roster: {other:?}\n{}", server.log_tail()),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    session.disconnect().await;
    (elapsed, count)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    rapport_engine::init_crypto();
    let server = XmppServer::start_prosody();
    let user = server.create_user("big");
    let items: Vec<_> = (0..CONTACTS)
        .map(|i| RosterItem::new(format!("contact{i}@example.org")).name(format!("Contact {i}")).group(format!("Team {}", i % 40)).subscription(Subscription::Both))
        .collect();
    server.set_roster(&user, &items);

    let account = server.account(&user);
    let dir = tempfile::tempdir().unwrap();
    let profile = Profile::at(dir.path());

    let (cold, count) = time_to_roster(&server, &account, &user.password, &profile).await;
    assert_eq!(count, CONTACTS);
    let (cached, count) = time_to_roster(&server, &account, &user.password, &profile).await;
    assert_eq!(count, CONTACTS);
    println!("sign-in to a {CONTACTS}-contact roster on Prosody: {:.0} ms to roster loaded (empty cache), {:.0} ms (versioned cache)", cold * 1000.0, cached * 1000.0);
}

//! A local demo XMPP world for the README's run command: a throwaway Prosody on loopback with
//! demo accounts that know each other, contacts with presence, and Bob, a bot that answers.
//!
//!   rapport-demo-server INFO_FILE
//!
//! Writes the connection details (host, port, CA file, accounts) as JSON to INFO_FILE once
//! everything is ready, then runs until interrupted.

use std::time::Duration;

use rapport_engine::events::Event;
use rapport_engine::types::{Direction, OwnPresence};
use rapport_engine::{AccountConfig, Profile, Session, SessionOptions};
use rapport_system_tests::server::{RosterItem, Subscription, TestUser, XmppServer};

const PEOPLE: [(&str, &str); 4] = [("alice", "Alice"), ("bob", "Bob (answers messages)"), ("carol", "Carol"), ("dave", "Dave")];

fn account(server: &XmppServer, user: &TestUser) -> AccountConfig {
    server.account(user)
}

async fn online(server: &XmppServer, user: &TestUser, profile: &Profile) -> Session {
    let session = Session::start(profile, account(server, user), user.password.clone(), SessionOptions::default()).await.expect("demo account signs in");
    session.wait_online(Duration::from_secs(20)).await.expect("demo account online");
    session
}

/// Bob answers every message he receives.
async fn run_bot(bob: Session) {
    let mut events = bob.subscribe();
    while let Ok(event) = events.recv().await {
        let Event::MessagesReceived { messages, .. } = event else { continue };
        for message in messages.into_iter().filter(|m| m.direction == Direction::Incoming) {
            let reply = format!("Hi! Bob here (a demo bot). You wrote: “{}”", message.body);
            if let Err(error) = bob.send_message(&message.conversation, &reply).await {
                eprintln!("demo bot could not answer: {error}");
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let info_file = std::env::args().nth(1).expect("usage: rapport-demo-server INFO_FILE");
    rapport_engine::init_crypto();
    let server = XmppServer::start_prosody();
    let users: Vec<TestUser> = PEOPLE.iter().map(|(name, _)| server.create_named_user(name)).collect();
    for user in &users {
        let contacts: Vec<RosterItem> = users
            .iter()
            .zip(PEOPLE)
            .filter(|(other, _)| other.jid != user.jid)
            .map(|(other, (_, display))| RosterItem::new(other.jid.clone()).name(display).group("Demo team").subscription(Subscription::Both))
            .collect();
        server.set_roster(user, &contacts);
    }

    let profiles = tempfile::tempdir().unwrap();
    let profile = Profile::at(profiles.path());
    let bob = online(&server, &users[1], &profile).await;
    bob.set_presence(OwnPresence::Chat, Some("Ask me anything")).await.unwrap();
    let carol = online(&server, &users[2], &profile).await;
    carol.set_presence(OwnPresence::Away, Some("At lunch")).await.unwrap();
    let dave = online(&server, &users[3], &profile).await;
    dave.set_presence(OwnPresence::DoNotDisturb, Some("Presenting until 3 pm")).await.unwrap();
    tokio::spawn(run_bot(bob));

    let info = serde_json::json!({
        "host": server.host(),
        "port": server.starttls_port(),
        "domain": server.domain(),
        "ca_file": server.ca_file(),
        "accounts": users.iter().map(|u| serde_json::json!({"jid": u.jid, "password": u.password})).collect::<Vec<_>>(),
    });
    std::fs::write(&info_file, serde_json::to_string_pretty(&info).unwrap()).expect("write the info file");
    println!("Demo server ready on {}:{} — accounts: {}", server.host(), server.starttls_port(), users.iter().map(|u| u.jid.as_str()).collect::<Vec<_>>().join(", "));

    let _keep = (carol, dave);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    drop(server);
}

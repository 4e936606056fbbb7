//! Helpers shared by the engine system tests: accounts on the test servers, sessions, and
//! waiting for events with a deadline (never sleeping).

#![allow(dead_code)]

use std::time::Duration;

use rapport_engine::events::Event;
use rapport_engine::{AccountConfig, Profile, Session, SessionOptions};
use rapport_system_tests::server::{TestUser, XmppServer};
use tokio::sync::broadcast;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn account(server: &XmppServer, user: &TestUser) -> AccountConfig {
    server.account(user)
}

pub struct Online {
    pub session: Session,
    pub events: broadcast::Receiver<Event>,
    pub profile_dir: tempfile::TempDir,
}

pub async fn sign_in(server: &XmppServer, user: &TestUser) -> Online {
    rapport_engine::init_crypto();
    let profile_dir = tempfile::tempdir().unwrap();
    let session = Session::start(&Profile::at(profile_dir.path()), account(server, user), user.password.clone(), SessionOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{} could not sign in to {}: {e}\n{}", user.jid, server.kind(), server.log_tail()));
    let events = session.subscribe();
    session.wait_online(WAIT).await.unwrap();
    Online { session, events, profile_dir }
}

/// Waits for the first event `pick` accepts; panics with what was seen after `WAIT`.
pub async fn expect_event<T>(events: &mut broadcast::Receiver<Event>, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!("timed out waiting for {what}; saw: {seen:#?}"),
            Ok(Err(broadcast::error::RecvError::Lagged(n))) => seen.push(format!("(lagged {n})")),
            Ok(Err(e)) => panic!("event stream ended waiting for {what}: {e}"),
            Ok(Ok(event)) => {
                if let Some(found) = pick(&event) {
                    return found;
                }
                seen.push(format!("{event:?}"));
            }
        }
    }
}

/// Polls `check` until it returns `Some`, for state that is read rather than announced.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Defines one test per server: `mod name { prosody, ejabberd }`.
#[macro_export]
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use rapport_system_tests::server::{shared, ServerKind};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn prosody() {
                super::$name(shared(ServerKind::Prosody)).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ejabberd() {
                super::$name(shared(ServerKind::Ejabberd)).await
            }
        }
    )*};
}

/// SHA-256 fingerprint of the certificate the server presents, as the engine formats it.
pub fn server_cert_fingerprint(server: &XmppServer) -> String {
    let pem = std::fs::read(&server.tls_files().cert_file).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice()).next().unwrap().unwrap();
    rapport_engine::connection::tls::fingerprint(&der)
}

/// `login_with_timeout`'s error (its success value is not `Debug`).
pub fn login_error<T>(result: rapport_engine::Result<T>) -> rapport_engine::EngineError {
    match result {
        Ok(_) => panic!("signed in, but an error was expected"),
        Err(error) => error,
    }
}

//! Signing in against real Prosody and ejabberd: SCRAM, TLS policy, typed errors, reconnect.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rapport_engine::connection::{login_with_timeout, tls::fingerprint};
use rapport_engine::events::{ConnectionState, Event};
use rapport_engine::{EngineError, Profile, Session, SessionOptions};
use rapport_system_tests::server::{ServerKind, XmppServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xmpp_parsers::jid::FullJid;

fn identity(jid: &str) -> FullJid {
    format!("{jid}/test").parse().unwrap()
}

async fn signs_in_with_scram(server: &XmppServer) {
    let user = server.create_user("scram");
    let online = sign_in(server, &user).await;
    match online.session.connection_state() {
        ConnectionState::Online { sasl_mechanism, jid, resumed, .. } => {
            assert!(sasl_mechanism.starts_with("SCRAM-SHA-"), "{} used {sasl_mechanism}", server.kind());
            assert_eq!(jid, user.jid);
            assert!(!resumed);
        }
        other => panic!("not online: {other:?}"),
    }
    online.session.disconnect().await;
    assert_eq!(online.session.connection_state(), ConnectionState::Offline { reason: None });
}

async fn signs_in_over_direct_tls(server: &XmppServer) {
    rapport_engine::init_crypto();
    let user = server.create_user("direct");
    let mut account = account(server, &user);
    account.direct_tls = true;
    account.port = Some(server.direct_tls_port());
    let Ok((_, info)) = login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await else { panic!("direct TLS sign-in failed") };
    assert!(info.direct_tls);
    assert!(info.sasl_mechanism.starts_with("SCRAM-"));
}

async fn a_wrong_password_is_reported_not_retried(server: &XmppServer) {
    rapport_engine::init_crypto();
    let user = server.create_user("wrongpw");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let result = Session::start(&Profile::at(dir.path()), account(server, &user), "not the password".into(), SessionOptions { keep_trying: true, ..Default::default() }).await;
    assert_eq!(result.err(), Some(EngineError::WrongPassword));
    assert!(started.elapsed() < Duration::from_secs(15), "answered promptly instead of spinning");
}

async fn an_untrusted_certificate_is_refused_with_its_fingerprint_until_pinned(server: &XmppServer) {
    rapport_engine::init_crypto();
    let user = server.create_user("pin");
    let mut account = account(server, &user);
    account.ca_file = None;
    let expected = server_cert_fingerprint(server);
    let error = login_error(login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await);
    let EngineError::UntrustedCertificate { fingerprint: presented, .. } = error else { panic!("{error:?}") };
    assert_eq!(presented, expected);

    account.pinned_certificate = Some(presented.to_lowercase().replace(':', ""));
    assert!(login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await.is_ok(), "the pinned certificate is accepted");

    account.pinned_certificate = Some(fingerprint(b"some other certificate"));
    account.ca_file = Some(server.ca_file().to_path_buf());
    let error = login_error(login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await);
    assert_eq!(error.code(), "untrusted_certificate", "a pin overrides even a trusted CA");
}

async fn a_closed_port_and_an_unknown_host_are_told_apart(server: &XmppServer) {
    rapport_engine::init_crypto();
    let user = server.create_user("net");
    let mut account = account(server, &user);
    account.port = Some(rapport_system_tests::process::free_port());
    let error = login_error(login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await);
    assert_eq!(error.code(), "connection_refused");
    account.host = Some("no-such-host.invalid".into());
    let error = login_error(login_with_timeout(&account, &user.password, &identity(&user.jid), WAIT).await);
    assert_eq!(error.code(), "unknown_host");
}

async fn disco_ping_and_version_work(server: &XmppServer) {
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    a.session.ping(None).await.expect("server answers pings");
    let info = a.session.disco_info(server.domain()).await.unwrap();
    assert!(info.features.contains("urn:xmpp:ping"), "{:?}", info.features);
    let ConnectionState::Online { .. } = b.session.connection_state() else { panic!() };
    // Ask Bob's own client (its full JID) — our engine answers version and disco queries.
    let bob_full = eventually("bob's resource visible in server features", || {
        b.session.bound_jid()
    })
    .await;
    let version = a.session.software_version(&bob_full).await.unwrap();
    assert_eq!(version.name, "Rapport");
    let caps = a.session.disco_info(&bob_full).await.unwrap();
    assert!(caps.features.contains("urn:xmpp:ping"));
}

async fn reconnects_with_backoff_after_the_server_restarts(kind: ServerKind) {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut server = XmppServer::start(kind);
    let user = server.create_user("restart");
    let mut online = sign_in(&server, &user).await;
    server.stop();
    expect_event(&mut online.events, "reconnecting", |e| match e {
        Event::ConnectionChanged { state: ConnectionState::Reconnecting { .. } } => Some(()),
        _ => None,
    })
    .await;
    server.restart();
    expect_event(&mut online.events, "online again", |e| match e {
        Event::ConnectionChanged { state: ConnectionState::Online { .. } } => Some(()),
        _ => None,
    })
    .await;
    online.session.ping(None).await.expect("the new connection works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prosody_reconnects_after_restart() {
    reconnects_with_backoff_after_the_server_restarts(ServerKind::Prosody).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ejabberd_reconnects_after_restart() {
    reconnects_with_backoff_after_the_server_restarts(ServerKind::Ejabberd).await
}

on_both_servers!(
    signs_in_with_scram,
    signs_in_over_direct_tls,
    a_wrong_password_is_reported_not_retried,
    an_untrusted_certificate_is_refused_with_its_fingerprint_until_pinned,
    a_closed_port_and_an_unknown_host_are_told_apart,
    disco_ping_and_version_work,
);

// ---- hostile servers that real ones cannot imitate ----

/// Serves one TCP connection with `script`: reads the client's stream header, then writes `reply`.
async fn fake_server(reply: &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 1024];
        let _ = socket.read(&mut buffer).await;
        let _ = socket.write_all(reply).await;
        // Keep the socket open until the client gives up.
        let _ = socket.read(&mut buffer).await;
    });
    port
}

async fn login_to_fake(port: u16, timeout: Duration) -> EngineError {
    rapport_engine::init_crypto();
    let mut account = rapport_engine::AccountConfig::new("alice@localhost").unwrap();
    account.host = Some("127.0.0.1".into());
    account.port = Some(port);
    login_error(login_with_timeout(&account, "pw", &identity("alice@localhost"), timeout).await)
}

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='x' version='1.0'>";

#[tokio::test]
async fn a_server_without_starttls_is_refused_never_plaintext() {
    let reply: &'static str = Box::leak(format!("{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>").into_boxed_str());
    let port = fake_server(reply.as_bytes()).await;
    assert_eq!(login_to_fake(port, WAIT).await, EngineError::TlsUnavailable);
}

#[tokio::test]
async fn a_dtd_with_entity_expansion_is_a_protocol_error_not_a_crash() {
    let port = fake_server(
        b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
          <stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>&lol2;",
    )
    .await;
    let error = login_to_fake(port, WAIT).await;
    assert_eq!(error.code(), "protocol", "{error:?}");
}

#[tokio::test]
async fn garbage_instead_of_xml_is_a_protocol_error() {
    let port = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\x01\x02").await;
    let error = login_to_fake(port, WAIT).await;
    assert!(matches!(error.code().as_str(), "protocol" | "network"), "{error:?}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let port = fake_server(b"").await;
    let error = login_to_fake(port, Duration::from_secs(2)).await;
    assert_eq!(error.code(), "timeout");
}

#[tokio::test]
async fn a_policy_violation_at_connect_is_typed() {
    let reply: &'static str = Box::leak(format!("{HEADER}<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>too many connections</text></stream:error>").into_boxed_str());
    let port = fake_server(reply.as_bytes()).await;
    assert_eq!(login_to_fake(port, WAIT).await, EngineError::PolicyViolation { text: "too many connections".into() });
}

#[tokio::test]
async fn an_endless_element_is_cut_off_instead_of_filling_memory() {
    use rapport_system_tests::{Behaviour, FakeServer};
    let server = FakeServer::start(Behaviour::Flood {
        prefix: format!("{HEADER}<stream:features><x xmlns='urn:example'>").into_bytes(),
        chunk: vec![b'a'; 64 * 1024],
        max_bytes: 64 * 1024 * 1024,
    });
    let error = login_to_fake(server.port(), WAIT).await;
    assert_eq!(error.code(), "protocol", "{error:?}");
}

#[tokio::test]
async fn a_tls_server_with_an_unknown_certificate_is_refused_with_its_fingerprint() {
    use rapport_system_tests::{Behaviour, CertPair, FakeServer};
    let cert = CertPair::self_signed(&["localhost"]);
    let expected = fingerprint(&cert.cert_der());
    let server = FakeServer::start(Behaviour::DirectTls { cert });
    rapport_engine::init_crypto();
    let mut account = rapport_engine::AccountConfig::new("alice@localhost").unwrap();
    account.host = Some("127.0.0.1".into());
    account.port = Some(server.port());
    account.direct_tls = true;
    let error = login_error(login_with_timeout(&account, "pw", &identity("alice@localhost"), WAIT).await);
    assert_eq!(error, EngineError::UntrustedCertificate { fingerprint: expected, reason: "issued by an unknown authority".into() });
}

/// Another client taking over our resource makes the server end our stream with `conflict`:
/// reported as a typed error, and no reconnect (which would kick the other one in turn).
async fn a_conflict_from_the_server_is_reported_and_not_fought(server: &'static XmppServer) {
    let user = server.create_user("conflict");
    let mut online = sign_in(server, &user).await;
    let resource = online.session.bound_jid().unwrap().split_once('/').unwrap().1.to_owned();
    let user2 = user.clone();
    let _usurper = tokio::task::spawn_blocking(move || rapport_system_tests::RawClient::login_as(server, &user2, &resource).unwrap()).await.unwrap();
    let reason = expect_event(&mut online.events, "offline with the stream error", |e| match e {
        Event::ConnectionChanged { state: ConnectionState::Offline { reason } } => Some(reason.clone()),
        _ => None,
    })
    .await;
    let Some(EngineError::StreamError { condition, .. }) = reason else { panic!("{reason:?}") };
    assert_eq!(condition, "conflict");
}

on_both_servers!(a_conflict_from_the_server_is_reported_and_not_fought);

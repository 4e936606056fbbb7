//! Self-tests of the system-test harness: certificates, both real servers, fake servers,
//! and the keyring session that `tests/run` provides.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_system_tests::raw::{RawClient, IO_TIMEOUT};
use rapport_system_tests::{
    assert_secret_service, shared, Behaviour, CertPair, FakeServer, RosterItem, ServerKind, Subscription,
    TestCa, XmppServer, SERVER_NAMES,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{ServerName, UnixTime};

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

fn verify(ca: &TestCa, cert: &CertPair, name: &str) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    let name = ServerName::try_from(name.to_string()).unwrap();
    verifier.verify_server_cert(&cert.cert_der(), &[], &name, &[], UnixTime::now()).map(|_| ())
}

#[test]
fn server_cert_verifies_for_every_server_name_and_nothing_else() {
    let ca = TestCa::new("harness test CA");
    let leaf = ca.issue_server_cert();
    for name in SERVER_NAMES {
        verify(&ca, &leaf, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for wrong in ["example.org", "pubsub.localhost", "127.0.0.2"] {
        let err = verify(&ca, &leaf, wrong).expect_err(wrong);
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })),
            "{wrong}: {err:?}"
        );
    }
}

#[test]
fn leaf_is_ca_false_and_ca_is_ca_true() {
    use x509_parser::prelude::*;
    let ca = TestCa::new("harness test CA");
    let leaf = ca.issue_server_cert();
    let leaf_der = leaf.cert_der();
    let (_, cert) = X509Certificate::from_der(&leaf_der).unwrap();
    let bc = cert.basic_constraints().unwrap().expect("leaf has basicConstraints");
    assert!(bc.critical, "basicConstraints must be critical");
    assert!(!bc.value.ca, "leaf must be CA:FALSE");
    let sans: BTreeSet<String> = cert
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => format!("{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    for dns in ["localhost", "muc.localhost", "upload.localhost"] {
        assert!(sans.contains(dns), "{sans:?}");
    }
    assert!(sans.contains("[127, 0, 0, 1]"), "{sans:?}");
    assert_eq!(cert.issuer().to_string(), X509Certificate::from_der(&ca.cert_der()).unwrap().1.subject().to_string());

    let ca_der = ca.cert_der();
    let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
    assert!(ca_cert.basic_constraints().unwrap().unwrap().value.ca, "CA must be CA:TRUE");
}

#[test]
fn second_ca_and_self_signed_are_untrusted() {
    let trusted = TestCa::new("trusted");
    let other = TestCa::new("other");
    assert_ne!(trusted.cert_pem(), other.cert_pem());
    let from_other = other.issue_server_cert();
    let err = verify(&trusted, &from_other, "localhost").unwrap_err();
    assert_eq!(err, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
    let self_signed = CertPair::self_signed(&["localhost"]);
    let err = verify(&trusted, &self_signed, "localhost").unwrap_err();
    assert_eq!(err, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
    // ... while the other CA accepts its own leaf.
    verify(&other, &from_other, "localhost").unwrap();
}

#[test]
fn write_server_files_writes_ca_cert_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("files");
    let files = ca.write_server_files(dir.path()).unwrap();
    assert_eq!(files.ca_file, dir.path().join("ca.pem"));
    assert_eq!(std::fs::read_to_string(&files.ca_file).unwrap(), ca.cert_pem());
    assert!(std::fs::read_to_string(&files.cert_file).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(std::fs::read_to_string(&files.key_file).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
}

// ---------------------------------------------------------------------------------------
// Real servers
// ---------------------------------------------------------------------------------------

fn assert_only_loopback(server: &XmppServer) {
    let addrs = server.listening_addresses();
    assert!(!addrs.is_empty(), "found no listening sockets for {}", server.kind());
    for a in &addrs {
        assert!(a.ip().is_loopback(), "{} listens on non-loopback {a} (all: {addrs:?})", server.kind());
    }
    let ports: BTreeSet<u16> = addrs.iter().map(|a| a.port()).collect();
    for p in [server.starttls_port(), server.direct_tls_port(), server.http_port()] {
        assert!(ports.contains(&p), "{} not listening on {p}: {addrs:?}", server.kind());
    }
}

fn tls_and_login(kind: ServerKind) {
    let server = shared(kind);
    assert_eq!(server.kind(), kind.name());
    assert_eq!(server.domain(), "localhost");
    assert_eq!(server.host(), "127.0.0.1");
    assert!(Path::new(server.ca_file()).is_file());
    assert_eq!(std::fs::read_to_string(server.ca_file()).unwrap(), server.ca_pem());
    assert_only_loopback(server);

    // STARTTLS, verified against the instance's CA.
    let c = RawClient::connect_starttls(server.host(), server.starttls_port(), server.domain(), &server.ca_pem())
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(c.features_before_tls().contains("urn:ietf:params:xml:ns:xmpp-tls"));
    assert!(c.features.contains("<mechanism>SCRAM-SHA-1</mechanism>"), "{}", c.features);
    assert!(c.tls_version().is_some());
    assert!(!c.peer_certificates().is_empty());

    // Direct TLS.
    let d = RawClient::connect_direct_tls(server.host(), server.direct_tls_port(), server.domain(), &server.ca_pem())
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(d.features.contains("<mechanism>SCRAM-SHA-1</mechanism>"), "{}", d.features);

    // A client trusting another CA must refuse both ports.
    let other = TestCa::new("not the server's CA");
    for res in [
        RawClient::connect_starttls(server.host(), server.starttls_port(), server.domain(), other.cert_pem()),
        RawClient::connect_direct_tls(server.host(), server.direct_tls_port(), server.domain(), other.cert_pem()),
    ] {
        let err = res.err().expect("untrusted CA must fail");
        assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    }

    // Users: unique, can log in, wrong password fails.
    let alice = server.create_user("Alice!");
    let bob = server.create_user("alice");
    assert_ne!(alice.jid, bob.jid);
    assert!(alice.jid.starts_with("alice") && alice.jid.ends_with("@localhost"), "{}", alice.jid);
    let mut session = RawClient::login(server, &alice).unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert_eq!(session.roster().unwrap(), vec![]);
    let mut wrong = RawClient::connect_starttls(server.host(), server.starttls_port(), server.domain(), &server.ca_pem())
        .unwrap();
    let err = wrong.authenticate(&bob.username, "not-the-password").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
}

#[test]
fn prosody_tls_users_and_login() {
    tls_and_login(ServerKind::Prosody);
}

#[test]
fn ejabberd_tls_users_and_login() {
    tls_and_login(ServerKind::Ejabberd);
}

fn sorted(mut items: Vec<RosterItem>) -> Vec<RosterItem> {
    for i in &mut items {
        i.groups.sort();
    }
    items.sort_by(|a, b| a.jid.cmp(&b.jid));
    items
}

fn roster_roundtrip(kind: ServerKind, big: usize) {
    let server = shared(kind);
    let user = server.create_user("roster");
    let contact = server.create_user("contact");
    let items = vec![
        RosterItem::new(&contact.jid).name("Zoë \"Z\" <&>").group("Friends").group("Work"),
        RosterItem::new("to@example.org").subscription(Subscription::To).group("Remote"),
        RosterItem::new("from@example.org").name("From").subscription(Subscription::From),
        RosterItem::new("none@example.org").subscription(Subscription::None),
    ];
    server.set_roster(&user, &items);
    let mut c = RawClient::login(server, &user).unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert_eq!(sorted(c.roster().unwrap()), sorted(items.clone()));

    // A big roster, for the "large roster" tests.
    let user2 = server.create_user("bigroster");
    let many: Vec<RosterItem> = (0..big)
        .map(|i| RosterItem::new(format!("contact{i:05}@example.org")).name(format!("Contact {i}")).group("Big"))
        .collect();
    let t = Instant::now();
    server.set_roster(&user2, &many);
    eprintln!("{}: set_roster with {big} items took {:?}", server.kind(), t.elapsed());
    let mut c = RawClient::login(server, &user2).unwrap();
    let got = c.roster().unwrap();
    assert_eq!(got.len(), big);
    assert_eq!(sorted(got), sorted(many));

    // set_roster replaces.
    server.set_roster(&user, &items[..1]);
    let mut c = RawClient::login(server, &user).unwrap();
    assert_eq!(sorted(c.roster().unwrap()), sorted(items[..1].to_vec()));
}

#[test]
fn prosody_set_roster_roundtrip() {
    roster_roundtrip(ServerKind::Prosody, 2000);
}

#[test]
fn ejabberd_set_roster_roundtrip() {
    roster_roundtrip(ServerKind::Ejabberd, 200);
}

fn disco_info(c: &mut RawClient, to: &str) -> String {
    let id = format!("info-{}", to.replace(['@', '.'], "-"));
    c.iq(&id, &format!("<iq type='get' to='{to}' id='{id}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"))
        .unwrap()
}

/// The config essentials are really on: stream management, roster versioning, carbons,
/// MAM, PEP, blocking, ping, version, vCard, private storage, MUC and upload components.
fn features_and_services(kind: ServerKind) {
    let server = shared(kind);
    let user = server.create_user("features");
    let mut c = RawClient::login(server, &user).unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    for f in ["urn:xmpp:sm:3", "urn:xmpp:features:rosterver"] {
        assert!(c.features.contains(f), "{}: no {f} in stream features {}", server.kind(), c.features);
    }
    let all = disco_info(&mut c, server.domain()) + &disco_info(&mut c, &user.jid);
    for f in [
        "urn:xmpp:carbons:2",
        "urn:xmpp:mam:2",
        "http://jabber.org/protocol/pubsub#publish",
        "urn:xmpp:blocking",
        "urn:xmpp:ping",
        "jabber:iq:version",
        "vcard-temp",
    ] {
        assert!(all.contains(&format!("var='{f}'")) || all.contains(&format!("var=\"{f}\"")), "{}: no {f} in {all}", server.kind());
    }
    let items = c
        .iq("items1", &format!("<iq type='get' to='{}' id='items1'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>", server.domain()))
        .unwrap();
    for component in [server.muc_domain(), server.upload_domain()] {
        assert!(items.contains(component), "{}: {component} not in disco#items: {items}", server.kind());
    }
    // ejabberd does not advertise jabber:iq:private: check that private storage works.
    let set = c
        .iq("priv1", "<iq type='set' id='priv1'><query xmlns='jabber:iq:private'><prefs xmlns='urn:rapport:test'>42</prefs></query></iq>")
        .unwrap();
    assert!(set.contains("result"), "{set}");
    let got = c
        .iq("priv2", "<iq type='get' id='priv2'><query xmlns='jabber:iq:private'><prefs xmlns='urn:rapport:test'/></query></iq>")
        .unwrap();
    assert!(got.contains(">42</prefs>"), "{}: {got}", server.kind());
    let muc = disco_info(&mut c, server.muc_domain());
    assert!(muc.contains("http://jabber.org/protocol/muc"), "{muc}");
    let upload = disco_info(&mut c, server.upload_domain());
    assert!(upload.contains("urn:xmpp:http:upload:0"), "{upload}");
}

#[test]
fn prosody_features_and_services() {
    features_and_services(ServerKind::Prosody);
}

#[test]
fn ejabberd_features_and_services() {
    features_and_services(ServerKind::Ejabberd);
}

/// XEP-0363 on the HTTP port: request a slot, PUT with the slot's headers, GET it back.
fn upload_roundtrip(kind: ServerKind) {
    let server = shared(kind);
    let user = server.create_user("upload");
    let mut c = RawClient::login(server, &user).unwrap();
    let content = b"hello rapport";
    let slot = c
        .iq(
            "slot1",
            &format!(
                "<iq type='get' to='{}' id='slot1'><request xmlns='urn:xmpp:http:upload:0' \
                 filename='hello.txt' size='{}' content-type='text/plain'/></iq>",
                server.upload_domain(),
                content.len()
            ),
        )
        .unwrap();
    assert!(slot.contains("<slot"), "{}: {slot}", server.kind());
    let url_of = |tag: &str| -> String {
        let at = slot.find(&format!("<{tag} ")).unwrap_or_else(|| panic!("no <{tag}> in {slot}"));
        let rest = &slot[at..];
        let q = rest.find("url=").map(|i| rest.as_bytes()[i + 4] as char).unwrap();
        let v = &rest[rest.find("url=").unwrap() + 5..];
        rapport_system_tests::raw::unescape(&v[..v.find(q).unwrap()])
    };
    let (put, get) = (url_of("put"), url_of("get"));
    let prefix = format!("http://127.0.0.1:{}/", server.http_port());
    assert!(put.starts_with(&prefix) && get.starts_with(&prefix), "{put} {get}");
    // Headers the server wants on the PUT (Prosody: Authorization).
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut rest = slot.as_str();
    while let Some(i) = rest.find("<header ") {
        rest = &rest[i..];
        let name_start = rest.find("name=").unwrap() + 6;
        let name = &rest[name_start..name_start + rest[name_start..].find(['\'', '"']).unwrap()];
        let value_start = rest.find('>').unwrap() + 1;
        let value = &rest[value_start..value_start + rest[value_start..].find("</header>").unwrap()];
        headers.push((name.to_string(), rapport_system_tests::raw::unescape(value)));
        rest = &rest[value_start..];
    }
    let mut h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    h.push(("Content-Type", "text/plain"));
    let (status, _, body) = rapport_system_tests::raw::http_request("PUT", &put, &h, content).unwrap();
    assert!((200..300).contains(&status), "{}: PUT {put} -> {status} {}", server.kind(), String::from_utf8_lossy(&body));
    let (status, _, body) = rapport_system_tests::raw::http_request("GET", &get, &[], b"").unwrap();
    assert_eq!(status, 200, "{}: GET {get}", server.kind());
    assert_eq!(body, content);
}

#[test]
fn prosody_http_upload_roundtrip() {
    upload_roundtrip(ServerKind::Prosody);
}

#[test]
fn ejabberd_http_upload_roundtrip() {
    upload_roundtrip(ServerKind::Ejabberd);
}

/// `RAPPORT_KEEP_TEST_SERVERS=1` keeps instance dirs on purpose.
fn keeping_dirs() -> bool {
    std::env::var_os("RAPPORT_KEEP_TEST_SERVERS").is_some_and(|v| v != "0")
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)).is_ok()
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

fn restart_and_stop(kind: ServerKind) {
    let mut server = XmppServer::start(kind);
    eprintln!("{} started in {:?}", server.kind(), server.startup_time());
    let ports = server.ports();
    let pid1 = server.pid().unwrap();
    let user = server.create_user("survivor");
    server.set_roster(&user, &[RosterItem::new("friend@example.org").name("Friend")]);

    server.restart();
    eprintln!("{} restarted in {:?}", server.kind(), server.startup_time());
    let pid2 = server.pid().unwrap();
    assert_ne!(pid1, pid2);
    assert!(!pid_alive(pid1), "old process {pid1} still alive");
    assert_eq!(server.starttls_port(), ports.starttls);
    assert_eq!(server.direct_tls_port(), ports.direct_tls);
    let mut c = RawClient::login(&server, &user).unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert_eq!(c.roster().unwrap(), vec![RosterItem::new("friend@example.org").name("Friend")]);
    drop(c);

    let dir = server.dir().to_path_buf();
    server.stop();
    assert!(!server.is_running());
    assert!(!pid_alive(pid2), "process {pid2} still alive after stop");
    for p in [ports.starttls, ports.direct_tls, ports.http] {
        assert!(!port_open(p), "port {p} still open after stop");
    }
    assert!(dir.exists(), "stop must keep the data");
    drop(server);
    if !keeping_dirs() {
        assert!(!dir.exists(), "drop must remove the instance dir");
    }
}

#[test]
fn prosody_restart_keeps_data_and_ports_then_stops() {
    restart_and_stop(ServerKind::Prosody);
}

#[test]
fn ejabberd_restart_keeps_data_and_ports_then_stops() {
    restart_and_stop(ServerKind::Ejabberd);
}

#[test]
fn instances_run_side_by_side() {
    let handles: Vec<_> = [ServerKind::Prosody, ServerKind::Prosody, ServerKind::Ejabberd, ServerKind::Ejabberd]
        .into_iter()
        .map(|k| std::thread::spawn(move || XmppServer::start(k)))
        .collect();
    let servers: Vec<XmppServer> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let all_ports: BTreeSet<u16> = servers
        .iter()
        .flat_map(|s| [s.starttls_port(), s.direct_tls_port(), s.http_port()])
        .collect();
    assert_eq!(all_ports.len(), servers.len() * 3, "ports overlap");
    let users: Vec<_> = servers.iter().map(|s| s.create_user("side")).collect();
    for (i, s) in servers.iter().enumerate() {
        assert_only_loopback(s);
        RawClient::login(s, &users[i]).unwrap_or_else(|e| panic!("{} #{i}: {e}\n{}", s.kind(), s.log_tail()));
        // Each instance has its own CA and its own accounts.
        let j = (i + 1) % servers.len();
        let err = RawClient::connect_starttls(s.host(), s.starttls_port(), s.domain(), &servers[j].ca_pem())
            .err()
            .expect("another instance's CA must not validate");
        assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
        let mut c = RawClient::connect_starttls(s.host(), s.starttls_port(), s.domain(), &s.ca_pem()).unwrap();
        let err = c.authenticate(&users[j].username, &users[j].password).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    }
}

fn drop_cleans_up(kind: ServerKind) {
    let server = XmppServer::start(kind);
    let pid = server.pid().unwrap();
    let dir = server.dir().to_path_buf();
    let port = server.starttls_port();
    drop(server);
    assert!(!pid_alive(pid), "{pid} alive after drop");
    assert!(!port_open(port));
    if !keeping_dirs() {
        assert!(!dir.exists());
    }
}

#[test]
fn prosody_drop_cleans_up() {
    drop_cleans_up(ServerKind::Prosody);
}

#[test]
fn ejabberd_drop_cleans_up() {
    drop_cleans_up(ServerKind::Ejabberd);
}

// ---------------------------------------------------------------------------------------
// Fake servers
// ---------------------------------------------------------------------------------------

#[test]
fn fake_no_starttls_offers_no_starttls_and_records() {
    let fake = FakeServer::start(Behaviour::NoStartTls);
    let mut c = RawClient::connect_plain(fake.host(), fake.port(), "localhost", IO_TIMEOUT).unwrap();
    assert!(!c.features.contains("xmpp-tls"), "{}", c.features);
    assert!(c.features.contains("<mechanism>PLAIN</mechanism>"));
    c.send("<auth mechanism='PLAIN'>c2VjcmV0</auth>").unwrap();
    assert!(fake.wait_for(IO_TIMEOUT, |f| f.received_text().contains("c2VjcmV0")), "{}", fake.received_text());
    let err = RawClient::connect_starttls(fake.host(), fake.port(), "localhost", TestCa::new("x").cert_pem())
        .err()
        .unwrap();
    assert!(err.to_string().contains("no STARTTLS"), "{err}");
    assert_eq!(fake.connections(), 2);
}

#[test]
fn fake_payload_is_sent_after_stream_header() {
    let payload = b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>]><stream:stream>&lol;END".to_vec();
    let fake = FakeServer::start(Behaviour::Payload(payload));
    let mut s = TcpStream::connect(("127.0.0.1", fake.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    use std::io::{Read, Write};
    // Nothing before the client's header.
    let mut buf = [0u8; 64];
    let err = s.read(&mut buf).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(rapport_system_tests::raw::stream_header("localhost").as_bytes()).unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"END") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"<?xml version='1.0'?><!DOCTYPE lolz"));
    // The socket stays open after the payload.
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let err = s.read(&mut buf).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
}

#[test]
fn fake_flood_is_bounded() {
    let fake = FakeServer::start(Behaviour::Flood {
        prefix: b"<stream:stream xmlns='jabber:client'><message><body>".to_vec(),
        chunk: vec![b'A'; 4096],
        max_bytes: 1 << 20,
    });
    let mut s = TcpStream::connect(("127.0.0.1", fake.port())).unwrap();
    use std::io::{Read, Write};
    s.write_all(rapport_system_tests::raw::stream_header("localhost").as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(_) => break, // quiet: the flood is over
        }
    }
    assert!(total >= 1 << 20, "only {total} bytes");
    assert!(total < (1 << 20) + 8192, "{total} bytes: not bounded");
}

#[test]
fn fake_tls_servers_exercise_certificate_checks() {
    let trusted = TestCa::new("client trusts this");
    let untrusted = TestCa::new("client does not trust this");
    for direct in [false, true] {
        let behaviour = |cert: CertPair| if direct { Behaviour::DirectTls { cert } } else { Behaviour::StartTls { cert } };
        let connect = |port: u16, ca: &str| {
            if direct {
                RawClient::connect_direct_tls("127.0.0.1", port, "localhost", ca)
            } else {
                RawClient::connect_starttls("127.0.0.1", port, "localhost", ca)
            }
        };
        // Untrusted CA, self-signed, and a trusted cert for the wrong name: all rejected.
        for (cert, expect) in [
            (untrusted.issue_server_cert(), "UnknownIssuer"),
            (CertPair::self_signed(&["localhost"]), "UnknownIssuer"),
            (trusted.issue(&["evil.example"]), "NotValidForName"),
        ] {
            let fake = FakeServer::start(behaviour(cert));
            let err = connect(fake.port(), trusted.cert_pem()).err().expect("must be rejected");
            assert!(format!("{err:?}").contains(expect), "direct={direct}: {err:?}");
            assert!(fake.wait_for(IO_TIMEOUT, |f| f.tls_failures() == 1), "direct={direct}");
            assert_eq!(fake.tls_handshakes(), 0);
        }
        // A trusted certificate completes and the stream goes on.
        let fake = FakeServer::start(behaviour(trusted.issue_server_cert()));
        let c = connect(fake.port(), trusted.cert_pem()).unwrap();
        assert!(c.features.contains("SCRAM-SHA-1"), "{}", c.features);
        assert_eq!(fake.tls_handshakes(), 1);
        if !direct {
            assert!(c.features_before_tls().contains("xmpp-tls"));
        }
    }
}

#[test]
fn fake_silent_never_answers() {
    let fake = FakeServer::start(Behaviour::Silent);
    let t = Instant::now();
    let err = RawClient::connect_plain(fake.host(), fake.port(), "localhost", Duration::from_millis(400))
        .err()
        .expect("silent server must time out");
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(t.elapsed() >= Duration::from_millis(400));
    assert!(fake.wait_for(IO_TIMEOUT, |f| f.received_text().contains("<stream:stream")));
    assert_eq!(fake.connections(), 1);
}

#[test]
fn fake_server_drop_closes_port() {
    let fake = FakeServer::start(Behaviour::Silent);
    let port = fake.port();
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    drop(fake);
    assert!(!port_open(port));
    use std::io::Read;
    let mut s = s;
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut buf = [0u8; 8];
    // The accepted connection is closed too (EOF or reset).
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
}

// ---------------------------------------------------------------------------------------
// Keyring session (set up by tests/run)
// ---------------------------------------------------------------------------------------

fn dbus_send(args: &[&str]) -> String {
    let out = std::process::Command::new("dbus-send").arg("--session").arg("--print-reply").args(args).output().unwrap();
    assert!(out.status.success(), "dbus-send {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn secret_service_is_available_and_unlocked_under_tests_run() {
    assert_secret_service();
    // The default collection exists and is unlocked (no prompt would ever be answered).
    let alias = dbus_send(&[
        "--dest=org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.ReadAlias",
        "string:default",
    ]);
    let path = alias.split('"').nth(1).expect("object path in ReadAlias reply").to_string();
    assert!(path.starts_with("/org/freedesktop/secrets/collection/"), "{alias}");
    let locked = dbus_send(&[
        "--dest=org.freedesktop.secrets",
        &path,
        "org.freedesktop.DBus.Properties.Get",
        "string:org.freedesktop.Secret.Collection",
        "string:Locked",
    ]);
    assert!(locked.contains("boolean false"), "{path} is locked: {locked}");
    // It is a throwaway keyring, not the developer's.
    let home = std::env::var("HOME").unwrap();
    assert!(home.contains("rapport-test-session"), "HOME={home}: not the throwaway home of tests/run");
}

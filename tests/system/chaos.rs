//! The chaos suite (issue 4): never lose a message, never store one twice — through random
//! network cuts, a server restart, a SIGKILLed Rapport process and time offline with a second
//! device sending, on Prosody and ejabberd.
//!
//! Rapport A and the contact B are engine sessions of two accounts on a private server (each test
//! starts its own: some restart it). A talks through a [`ChaosProxy`] where the network
//! misbehaves; B talks to the server directly. Bodies are numbered (`a→b #17`), so each
//! direction can be checked in both local histories (the SQLite stores, read directly, in the
//! history's (timestamp, id) order): every test prints per direction sent, received, lost,
//! duplicated, out of order, and asserts that nothing was lost, doubled or reordered.
//!
//! `RAPPORT_CHAOS_SEED` replays the random cuts of a failed run (its seed is printed).
//! The tests run one at a time (each drives tens of thousands of stanzas on a 2-core machine).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rapport_engine::{AccountConfig, ConnectionState, Session, SessionOptions, Store};
use rapport_system_tests::{ChaosProxy, RosterItem, ServerKind, TestUser, XmppServer};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;

/// Generous: 10,000 messages each way through 50 cuts on a busy 2-core machine.
const WAIT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(100);
const ONLINE: Duration = Duration::from_secs(60);

/// One test at a time, whatever the test runner's threads.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------------------------
// The world: a private server, two accounts in each other's roster, their stores.

struct World {
    server: XmppServer,
    a: TestUser,
    b: TestUser,
    dir: tempfile::TempDir,
}

impl World {
    fn start(kind: ServerKind) -> World {
        let server = XmppServer::start(kind);
        let a = server.create_user("a");
        let b = server.create_user("b");
        server.set_roster(&a, &[RosterItem::new(&b.jid)]);
        server.set_roster(&b, &[RosterItem::new(&a.jid)]);
        World { server, a, b, dir: tempfile::tempdir().unwrap() }
    }

    fn upstream(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.server.starttls_port()))
    }

    fn store_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.sqlite"))
    }

    /// `user`'s account, connecting to `port` on 127.0.0.1 (the server's or a proxy's).
    fn account(&self, user: &TestUser, port: u16) -> AccountConfig {
        self.server.account_via(user, port)
    }

    async fn device(&self, user: &TestUser, port: u16, store: &str) -> Device {
        Device::start(self.account(user, port), &user.password, &self.store_path(store)).await
    }
}

impl Drop for World {
    /// Keeps the stores of a failed run for a look (the server keeps its own directory).
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("chaos stores kept: {}", self.dir.path().display());
        }
    }
}

/// One Rapport client: an engine session on its own store (kept across sessions).
struct Device {
    session: Session,
    store: Arc<Store>,
    path: PathBuf,
    account: AccountConfig,
    password: String,
}

impl Device {
    async fn start(account: AccountConfig, password: &str, path: &Path) -> Device {
        let store = Arc::new(Store::open(path).unwrap());
        let session = online_session(account.clone(), password, store.clone()).await;
        Device { session, store, path: path.to_path_buf(), account, password: password.into() }
    }

    /// Signs out (the account goes offline).
    async fn sign_out(&self) {
        self.session.disconnect().await;
    }

    /// A new session on the same store, as at the next start of the app.
    async fn sign_in_again(&mut self) {
        self.session = online_session(self.account.clone(), &self.password, self.store.clone()).await;
    }
}

async fn online_session(account: AccountConfig, password: &str, store: Arc<Store>) -> Session {
    rapport_engine::init_crypto();
    init_engine_log();
    let options = SessionOptions { keep_trying: true, ..SessionOptions::default() };
    let session = Session::start_with_store(account, password.into(), store, options).await.unwrap();
    session.wait_online(ONLINE).await.unwrap();
    session
}

/// The engine's log on the test output when `RAPPORT_LOG` is set (e.g. `rapport_engine=debug`).
fn init_engine_log() {
    if let Ok(filter) = std::env::var("RAPPORT_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
}

// ---------------------------------------------------------------------------------------------
// Sending and waiting.

/// Sends `{prefix}{n}` for every n of `numbers`, without waiting for acks.
async fn send_numbered(session: &Session, to: &str, prefix: &str, numbers: std::ops::RangeInclusive<u64>) {
    for n in numbers {
        session.send_message(to, &format!("{prefix}{n}")).await.unwrap_or_else(|e| panic!("send {prefix}{n}: {e}"));
    }
}

/// Polls `done` every [`POLL`] until it holds or `timeout` passed; returns whether it held.
async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A conversation as one side stored it.
#[derive(Clone)]
struct Side {
    name: &'static str,
    store: PathBuf,
    contact: String,
}

impl Side {
    fn of(name: &'static str, device: &Device, contact: &TestUser) -> Side {
        Side { name, store: device.path.clone(), contact: contact.jid.clone() }
    }

    fn read(&self) -> Connection {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(&self.store, flags).unwrap()
    }

    /// Distinct stored bodies starting with `prefix`.
    fn distinct(&self, prefix: &str) -> u64 {
        self.read()
            .query_row(
                "SELECT COUNT(DISTINCT body) FROM messages WHERE conversation = ?1 AND body LIKE ?2",
                (&self.contact, format!("{prefix}%")),
                |row| row.get(0),
            )
            .unwrap()
    }

    /// Our own messages the server has not acknowledged yet (the outbox).
    fn pending(&self) -> u64 {
        self.read()
            .query_row("SELECT COUNT(*) FROM messages WHERE direction = 'outgoing' AND state = 'pending'", [], |row| row.get(0))
            .unwrap()
    }

    /// (direction, body) of the conversation in history order.
    fn history(&self) -> Vec<(String, String)> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT direction, body FROM messages WHERE conversation = ?1 ORDER BY timestamp, id").unwrap();
        let rows = stmt.query_map([&self.contact], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn integrity_check(&self) -> String {
        self.read().query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap()
    }
}

/// Waits until every side of every flow stored each message of the flow and has an empty outbox;
/// returns whether that happened within [`WAIT`].
async fn wait_delivered(flows: &[Flow<'_>]) -> bool {
    wait_until(WAIT, || {
        flows.iter().all(|f| f.at.iter().all(|side| side.distinct(f.prefix) >= f.sent && side.pending() == 0))
    })
    .await
}

/// A round trip behind everything in flight: one more message each way, waited for, so a late
/// duplicate would be stored before the histories are counted.
async fn barrier(a: (&Session, &Side), b: (&Session, &Side)) -> bool {
    a.0.send_message(&a.1.contact, "a→b end").await.unwrap();
    b.0.send_message(&b.1.contact, "b→a end").await.unwrap();
    wait_until(WAIT, || b.1.distinct("a→b end") == 1 && a.1.distinct("b→a end") == 1).await
}

// ---------------------------------------------------------------------------------------------
// Counting.

/// Messages of one direction (`prefix` + number), sent `sent` times, as stored on the sides `at`.
struct Flow<'a> {
    prefix: &'a str,
    sent: u64,
    /// Every side that must have stored each of them once, in order.
    at: Vec<Side>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    sent: u64,
    received: u64,
    lost: u64,
    duplicated: u64,
    out_of_order: u64,
    /// Bodies with the prefix but a number never sent.
    unexpected: u64,
}

impl Tally {
    fn is_clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_order == 0 && self.unexpected == 0
    }
}

/// Counts `{prefix}N` bodies in `history` (in history order) against N = 1..=sent. A message is
/// out of order when one with a higher number was stored before it.
fn tally(history: &[(String, String)], prefix: &str, sent: u64) -> Tally {
    let mut seen = HashSet::new();
    let mut tally = Tally { sent, ..Tally::default() };
    let mut highest = 0;
    for (_, body) in history {
        let Some(number) = body.strip_prefix(prefix) else { continue };
        match number.parse::<u64>() {
            Ok(n) if (1..=sent).contains(&n) => {
                if !seen.insert(n) {
                    tally.duplicated += 1;
                } else if n < highest {
                    tally.out_of_order += 1;
                }
                highest = highest.max(n);
            }
            _ => tally.unexpected += 1,
        }
    }
    tally.received = seen.len() as u64;
    tally.lost = sent - tally.received;
    tally
}

/// For a failure message: where the numbers of `prefix` go wrong (the first few places where
/// a number is not one more than the highest before it).
fn disorder_examples(history: &[(String, String)], prefix: &str) -> String {
    let numbers: Vec<u64> = history.iter().filter_map(|(_, b)| b.strip_prefix(prefix)?.parse().ok()).collect();
    let mut highest = 0;
    let mut out = Vec::new();
    for (i, &n) in numbers.iter().enumerate() {
        if n != highest + 1 && out.len() < 8 {
            let around = &numbers[i.saturating_sub(3)..(i + 4).min(numbers.len())];
            out.push(format!("  at position {i}: #{n} after highest #{highest} (around: {around:?})"));
        }
        highest = highest.max(n);
    }
    out.join("\n")
}

/// Messages of `prefix` stored in `side` with another direction than `direction`.
fn misdirected(history: &[(String, String)], prefix: &str, direction: &str) -> usize {
    history.iter().filter(|(d, body)| body.starts_with(prefix) && d != direction).count()
}

/// Prints one line per flow and side, then asserts every one is clean.
fn report(test: &str, kind: ServerKind, flows: &[Flow<'_>]) {
    let mut dirty = Vec::new();
    for flow in flows {
        for side in &flow.at {
            let t = tally(&side.history(), flow.prefix, flow.sent);
            let line = format!(
                "[chaos {} {test}] {}… stored by {}: sent {}, received {}, lost {}, duplicated {}, out of order {}{}",
                kind.name(),
                flow.prefix,
                side.name,
                t.sent,
                t.received,
                t.lost,
                t.duplicated,
                t.out_of_order,
                if t.unexpected > 0 { format!(", unexpected {}", t.unexpected) } else { String::new() },
            );
            println!("{line}");
            if !t.is_clean() {
                println!("{}", disorder_examples(&side.history(), flow.prefix));
                dirty.push(line);
            }
        }
    }
    assert!(dirty.is_empty(), "messages lost, doubled or reordered:\n{}", dirty.join("\n"));
}

fn seed(kind: ServerKind) -> u64 {
    std::env::var("RAPPORT_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(match kind {
        ServerKind::Prosody => 0x5eed_0001,
        ServerKind::Ejabberd => 0x5eed_0002,
    })
}

// ---------------------------------------------------------------------------------------------
// 1. 10,000 messages each way while the proxy cuts A's connection at random 50 times.

const MESSAGES: u64 = 10_000;
const CUTS: usize = 50;
/// How long each connection lives before its cut (from its start; some cuts fall in the TLS or
/// SASL handshake or the resumption): 50 cuts take about 40 s.
const CUT_PAUSE: std::ops::Range<Duration> = Duration::from_millis(50)..Duration::from_millis(1200);

async fn random_cuts(kind: ServerKind) {
    let world = World::start(kind);
    let proxy = ChaosProxy::start(world.upstream());
    let a = world.device(&world.a, proxy.port(), "a").await;
    let b = world.device(&world.b, world.server.starttls_port(), "b").await;
    let (at_a, at_b) = (Side::of("A", &a, &world.b), Side::of("B", &b, &world.a));

    let seed = seed(kind);
    println!("[chaos {} random cuts] seed {seed}: {CUTS} cuts, {MESSAGES} messages each way", kind.name());
    let started = Instant::now();
    let cutter = proxy.cut_randomly(seed, CUTS, CUT_PAUSE);
    // One burst each way per cut, so every cut finds messages in flight in both directions.
    let per_burst = MESSAGES / CUTS as u64;
    for burst in 0..CUTS as u64 {
        let numbers = burst * per_burst + 1..=(burst + 1) * per_burst;
        tokio::join!(
            send_numbered(&a.session, &world.b.jid, "a→b #", numbers.clone()),
            send_numbered(&b.session, &world.a.jid, "b→a #", numbers),
        );
        let cut = wait_until(WAIT, || cutter.cuts() > burst as usize || cutter.finished()).await;
        assert!(cut, "cut {} never came ({} so far)", burst + 1, cutter.cuts());
        if (burst + 1) % 10 == 0 {
            let (to_b, to_a) = (at_b.distinct("a→b #"), at_a.distinct("b→a #"));
            let secs = started.elapsed().as_secs_f64();
            println!("[chaos {} random cuts] {secs:.1} s: {} cuts; received so far a→b {to_b}, b→a {to_a}", kind.name(), cutter.cuts());
        }
    }
    assert!(cutter.wait(WAIT).await, "only {} of {CUTS} cuts", cutter.cuts());
    assert_eq!(cutter.cuts(), CUTS);

    let flows = [
        Flow { prefix: "a→b #", sent: MESSAGES, at: vec![at_b.clone(), at_a.clone()] },
        Flow { prefix: "b→a #", sent: MESSAGES, at: vec![at_a.clone(), at_b.clone()] },
    ];
    let delivered = wait_delivered(&flows).await;
    let settled = delivered && barrier((&a.session, &at_a), (&b.session, &at_b)).await;
    println!(
        "[chaos {} random cuts] {:.1} s, {} connections through the proxy, {} cut",
        kind.name(),
        started.elapsed().as_secs_f64(),
        proxy.total_accepted(),
        proxy.total_cut()
    );
    report("random cuts", kind, &flows);
    assert!(settled, "not everything delivered within {WAIT:?} (see the counts above)");
}

// ---------------------------------------------------------------------------------------------
// 2. The server restarts in the middle: no resumption possible.

const RESTART_MESSAGES: u64 = 2_000;

async fn server_restart(kind: ServerKind) {
    let mut world = World::start(kind);
    let port = world.server.starttls_port();
    let a = world.device(&world.a, port, "a").await;
    let b = world.device(&world.b, port, "b").await;
    let (at_a, at_b) = (Side::of("A", &a, &world.b), Side::of("B", &b, &world.a));
    let half = RESTART_MESSAGES / 2;

    tokio::join!(
        send_numbered(&a.session, &world.b.jid, "a→b #", 1..=half),
        send_numbered(&b.session, &world.a.jid, "b→a #", 1..=half),
    );
    let in_flight = (at_a.pending(), at_b.pending());
    let restart = Instant::now();
    tokio::task::block_in_place(|| world.server.restart());
    println!(
        "[chaos {} server restart] restarted with {} + {} messages unacknowledged, back after {:.1} s",
        kind.name(),
        in_flight.0,
        in_flight.1,
        restart.elapsed().as_secs_f64()
    );
    a.session.reconnect_now();
    b.session.reconnect_now();
    tokio::join!(
        send_numbered(&a.session, &world.b.jid, "a→b #", half + 1..=RESTART_MESSAGES),
        send_numbered(&b.session, &world.a.jid, "b→a #", half + 1..=RESTART_MESSAGES),
    );
    assert_fresh_session(&a.session).await;

    let flows = [
        Flow { prefix: "a→b #", sent: RESTART_MESSAGES, at: vec![at_b.clone(), at_a.clone()] },
        Flow { prefix: "b→a #", sent: RESTART_MESSAGES, at: vec![at_a.clone(), at_b.clone()] },
    ];
    let delivered = wait_delivered(&flows).await;
    let settled = delivered && barrier((&a.session, &at_a), (&b.session, &at_b)).await;
    report("server restart", kind, &flows);
    assert!(settled, "not everything delivered within {WAIT:?} (see the counts above)");
}

/// After a server restart the session comes back, and not by resumption (the server forgot it).
async fn assert_fresh_session(session: &Session) {
    let online = wait_until(ONLINE, || matches!(session.connection_state(), ConnectionState::Online { .. })).await;
    assert!(online, "not online again after the restart: {:?}", session.connection_state());
    match session.connection_state() {
        ConnectionState::Online { resumed, .. } => assert!(!resumed, "resumed a session the server forgot"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The Rapport process is SIGKILLed while sending and receiving, then started again.

const KILL_MESSAGES: u64 = 3_000;

/// The chaos peer process (`src/bin/rapport-chaos-peer.rs`) and its stdout lines.
struct PeerProcess {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl PeerProcess {
    fn spawn(world: &World, store: &Path, count: u64) -> PeerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rapport-chaos-peer"))
            .args([&world.a.jid, "127.0.0.1", &world.server.starttls_port().to_string()])
            .arg(world.server.ca_file())
            .arg(store)
            .args([&world.b.jid, &count.to_string()])
            .env("RAPPORT_CHAOS_PASSWORD", &world.a.password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(peer_log(world))
            .spawn()
            .expect("start rapport-chaos-peer");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        PeerProcess { child, lines }
    }

    /// Waits for the first line `pick` accepts.
    async fn expect<T>(&mut self, what: &str, mut pick: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Err(_) => panic!("chaos peer: timed out waiting for {what}"),
                Ok(None) => panic!("chaos peer exited before {what}: {:?}", self.child.try_wait()),
                Ok(Some(line)) => {
                    if let Some(found) = pick(&line) {
                        return found;
                    }
                }
            }
        }
    }

    fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The peer's stderr (the engine's log), appended to `peer.log` next to the stores.
fn peer_log(world: &World) -> std::fs::File {
    let path = world.dir.path().join("peer.log");
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap()
}

fn number_after(line: &str, word: &str) -> Option<u64> {
    line.strip_prefix(word)?.trim().parse().ok()
}

async fn sigkill_mid_flight(kind: ServerKind) {
    let world = World::start(kind);
    let b = world.device(&world.b, world.server.starttls_port(), "b").await;
    let a_store = world.store_path("a");
    let at_a = Side { name: "A", store: a_store.clone(), contact: world.b.jid.clone() };
    let at_b = Side::of("B", &b, &world.a);
    let half = KILL_MESSAGES / 2;

    let mut peer = PeerProcess::spawn(&world, &a_store, KILL_MESSAGES);
    assert_eq!(peer.expect("start", |l| number_after(l, "start")).await, 0);
    peer.expect("online", |l| (l == "online").then_some(())).await;
    // B sends while A sends; A is killed right after it reported `half` messages stored.
    let (_, stored_before_kill) = tokio::join!(
        send_numbered(&b.session, &world.a.jid, "b→a #", 1..=half),
        peer.expect("half sent", |l| number_after(l, "sent").filter(|n| *n >= half)),
    );
    peer.sigkill();
    // A is gone (its server session soon too): these arrive while it is offline.
    send_numbered(&b.session, &world.a.jid, "b→a #", half + 1..=KILL_MESSAGES).await;

    let mut peer = PeerProcess::spawn(&world, &a_store, KILL_MESSAGES);
    let resumed_at = peer.expect("start", |l| number_after(l, "start")).await;
    println!("[chaos {} sigkill] killed after {stored_before_kill} stored, restarted at {resumed_at}", kind.name());
    assert!(resumed_at >= stored_before_kill, "messages stored before the kill are gone");
    peer.expect("done", |l| (l == "done").then_some(())).await;

    let flows = [
        Flow { prefix: "a→b #", sent: KILL_MESSAGES, at: vec![at_b.clone(), at_a.clone()] },
        Flow { prefix: "b→a #", sent: KILL_MESSAGES, at: vec![at_a.clone(), at_b.clone()] },
    ];
    let delivered = wait_delivered(&flows).await;
    b.session.send_message(&world.a.jid, "b→a end").await.unwrap();
    let settled = delivered && wait_until(WAIT, || at_a.distinct("b→a end") == 1).await;
    peer.sigkill();
    report("sigkill", kind, &flows);
    assert!(settled, "not everything delivered within {WAIT:?} (see the counts above)");
    assert_eq!(at_a.integrity_check(), "ok", "A's store after two SIGKILLs");
    assert_eq!(at_b.integrity_check(), "ok", "B's store");
}

// ---------------------------------------------------------------------------------------------
// 4. Offline, and a second device of A: everything appears after A comes back.

const OFFLINE_MESSAGES: u64 = 200;

async fn offline_and_second_device(kind: ServerKind) {
    let world = World::start(kind);
    let port = world.server.starttls_port();
    let mut a = world.device(&world.a, port, "a").await;
    let a2 = world.device(&world.a, port, "a2").await;
    let b = world.device(&world.b, port, "b").await;
    let at_a = Side::of("A", &a, &world.b);
    let at_b = Side::of("B", &b, &world.a);
    let half = OFFLINE_MESSAGES / 2;

    // A online: what A's other device sends arrives as carbons, B's messages directly.
    tokio::join!(
        send_numbered(&a2.session, &world.b.jid, "a2→b #", 1..=half),
        send_numbered(&b.session, &world.a.jid, "b→a #", 1..=half),
    );
    let live = wait_until(WAIT, || at_a.distinct("a2→b #") >= half && at_a.distinct("b→a #") >= half).await;
    assert!(live, "carbons and live messages at A: {} and {}", at_a.distinct("a2→b #"), at_a.distinct("b→a #"));

    // A offline: both only reach A through the archive.
    a.sign_out().await;
    tokio::join!(
        send_numbered(&a2.session, &world.b.jid, "a2→b #", half + 1..=OFFLINE_MESSAGES),
        send_numbered(&b.session, &world.a.jid, "b→a #", half + 1..=OFFLINE_MESSAGES),
    );
    let acked = wait_until(WAIT, || Side::of("A2", &a2, &world.b).pending() == 0 && at_b.pending() == 0).await;
    assert!(acked, "the server took every message while A was offline");
    a.sign_in_again().await;

    let flows = [
        Flow { prefix: "a2→b #", sent: OFFLINE_MESSAGES, at: vec![at_a.clone(), at_b.clone()] },
        Flow { prefix: "b→a #", sent: OFFLINE_MESSAGES, at: vec![at_a.clone(), at_b.clone()] },
    ];
    let delivered = wait_delivered(&flows).await;
    b.session.send_message(&world.a.jid, "b→a end").await.unwrap();
    let settled = delivered && wait_until(WAIT, || at_a.distinct("b→a end") == 1).await;
    report("offline + second device", kind, &flows);
    assert!(settled, "not everything delivered within {WAIT:?} (see the counts above)");
    let history = at_a.history();
    assert_eq!(misdirected(&history, "a2→b #", "outgoing"), 0, "the other device's messages are ours (outgoing)");
    assert_eq!(misdirected(&history, "b→a #", "incoming"), 0);
}

// ---------------------------------------------------------------------------------------------

macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use rapport_system_tests::ServerKind;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn prosody() {
                let _one = super::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
                super::$name(ServerKind::Prosody).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ejabberd() {
                let _one = super::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
                super::$name(ServerKind::Ejabberd).await
            }
        }
    )*};
}

on_both_servers!(random_cuts, sigkill_mid_flight, offline_and_second_device);

mod server_restart {
    use rapport_system_tests::server::ServerKind;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prosody() {
        let _one = super::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        super::server_restart(ServerKind::Prosody).await
    }

    /// Open (issue 4): ejabberd 23.01 acknowledges messages while it shuts down and drops some
    /// on the way to the recipient after archiving the sender's copy. The engine re-sends what
    /// it acknowledged around a shutdown and no receipt confirmed; that took the loss from 86
    /// of 2,000 to 0 in 5 local and CI runs, but a CI run still lost 1 a→b message.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "open: ejabberd still lost 1 of 2,000 messages around its restart in one CI run"]
    async fn ejabberd() {
        let _one = super::ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        super::server_restart(ServerKind::Ejabberd).await
    }
}

#[test]
fn tally_counts_lost_duplicated_and_out_of_order_messages() {
    let history: Vec<(String, String)> =
        ["x #1", "x #3", "y #2", "x #2", "x #3", "x #9", "x #4"].iter().map(|b| ("incoming".into(), b.to_string())).collect();
    let t = tally(&history, "x #", 5);
    assert_eq!(t, Tally { sent: 5, received: 4, lost: 1, duplicated: 1, out_of_order: 1, unexpected: 1 });
    assert!(!t.is_clean());
    assert_eq!(misdirected(&history, "x #", "outgoing"), 6);
}

//! Sync benchmarks (issue 4), on a private Prosody and ejabberd each; one line per figure:
//! 1. MAM catch-up: 10,000 messages arrived while A was offline; time from the session's start
//!    to all 10,000 stored (target ≤ 3 s).
//! 2. Network back: A's connection cut and new ones refused while 100 messages are queued; time
//!    from the network coming back (the proxy forwards again and the app calls `reconnect_now`,
//!    as it does when the OS reports the network) to the session resumed and all 100 acked
//!    (target ≤ 1 s).
//! 3. Server restart: 1,000 messages reach the archive while A is cut off, then the server
//!    restarts; time from the server accepting connections again (and `reconnect_now`) to a new
//!    session with the catch-up complete (target ≤ 3 s).
//!
//! cargo bench -p rapport-system-tests --bench sync [-- prosody|ejabberd]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_engine::{AccountConfig, ConnectionState, Session, SessionOptions, Store};
use rapport_system_tests::{ChaosProxy, RosterItem, ServerKind, TestUser, XmppServer};
use rusqlite::{Connection, OpenFlags};

const CATCH_UP: u64 = 10_000;
const QUEUED: u64 = 100;
const RESTART_BACKLOG: u64 = 1_000;
const ROUNDS: usize = 3;
const WAIT: Duration = Duration::from_secs(300);

struct Bench {
    kind: ServerKind,
    server: XmppServer,
    dir: tempfile::TempDir,
}

impl Bench {
    fn start(kind: ServerKind) -> Bench {
        let server = XmppServer::start(kind);
        Bench { kind, server, dir: tempfile::tempdir().unwrap() }
    }

    /// Two new accounts in each other's roster.
    fn pair(&self) -> (TestUser, TestUser) {
        let (a, b) = (self.server.create_user("a"), self.server.create_user("b"));
        self.server.set_roster(&a, &[RosterItem::new(&b.jid)]);
        self.server.set_roster(&b, &[RosterItem::new(&a.jid)]);
        (a, b)
    }

    fn upstream(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.server.starttls_port()))
    }

    fn account(&self, user: &TestUser, port: u16) -> AccountConfig {
        self.server.account_via(user, port)
    }

    async fn device(&self, user: &TestUser, port: u16) -> Device {
        let path = self.dir.path().join(format!("{}-{port}.sqlite", user.username));
        let store = Arc::new(Store::open(&path).unwrap());
        let account = self.account(user, port);
        let session = online(account.clone(), &user.password, store.clone()).await;
        Device { session, store, path, account, password: user.password.clone() }
    }

    fn print(&self, figure: &str) {
        println!("sync bench [{}] {figure}", self.kind.name());
    }
}

struct Device {
    session: Session,
    store: Arc<Store>,
    path: PathBuf,
    account: AccountConfig,
    password: String,
}

impl Device {
    fn read(&self) -> Connection {
        Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).unwrap()
    }

    fn count(&self, direction: &str) -> u64 {
        let sql = "SELECT COUNT(*) FROM messages WHERE direction = ?1";
        self.read().query_row(sql, [direction], |row| row.get(0)).unwrap()
    }

    fn pending(&self) -> u64 {
        let sql = "SELECT COUNT(*) FROM messages WHERE direction = 'outgoing' AND state = 'pending'";
        self.read().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    async fn send(&self, to: &TestUser, count: u64) {
        for n in 1..=count {
            self.session.send_message(&to.jid, &format!("bench #{n}")).await.unwrap();
        }
    }
}

async fn online(account: AccountConfig, password: &str, store: Arc<Store>) -> Session {
    let options = SessionOptions { keep_trying: true, ..SessionOptions::default() };
    let session = Session::start_with_store(account, password.into(), store, options).await.unwrap();
    session.wait_online(Duration::from_secs(60)).await.unwrap();
    session
}

/// Polls `done` until it holds; after [`WAIT`], `Err` names what never came.
async fn wait_until(what: &str, done: impl FnMut() -> bool) -> Result<(), String> {
    rapport_system_tests::bench::wait_until(what, WAIT, done).await
}

fn is_online(session: &Session) -> Option<bool> {
    match session.connection_state() {
        ConnectionState::Online { resumed, .. } => Some(resumed),
        _ => None,
    }
}

/// A's store holds one message from B: its archive id is the catch-up checkpoint.
async fn exchange_one(a: &Device, b: &Device, a_user: &TestUser) -> Result<(), String> {
    b.send(a_user, 1).await;
    wait_until("the first message", || a.count("incoming") == 1).await
}

// 1 -------------------------------------------------------------------------------------------

async fn mam_catch_up(bench: &Bench) -> Result<(), String> {
    let (a_user, b_user) = bench.pair();
    let port = bench.server.starttls_port();
    let a = bench.device(&a_user, port).await;
    let b = bench.device(&b_user, port).await;
    exchange_one(&a, &b, &a_user).await?;
    a.session.disconnect().await;

    b.send(&a_user, CATCH_UP).await;
    let sending = Instant::now();
    wait_until("B's messages acknowledged", || b.pending() == 0)
        .await
        .map_err(|e| format!("{e}: the server acknowledged {} of B's {CATCH_UP} to offline A", CATCH_UP - b.pending()))?;
    bench.print(&format!("(B's {CATCH_UP} messages to offline A acknowledged in {:.1} s)", sending.elapsed().as_secs_f64()));
    let started = Instant::now();
    let session = online(a.account.clone(), &a.password, a.store.clone()).await;
    let signed_in = started.elapsed();
    wait_until("the catch-up", || a.count("incoming") >= CATCH_UP + 1).await?;
    let stored = started.elapsed();
    bench.print(&format!(
        "MAM catch-up of {CATCH_UP} messages: {:.2} s from session start to all stored (sign-in {:.2} s) (target ≤ 3 s)",
        stored.as_secs_f64(),
        signed_in.as_secs_f64()
    ));
    assert_eq!(a.count("incoming"), CATCH_UP + 1, "each stored once");
    session.disconnect().await;
    b.session.disconnect().await;
    Ok(())
}

// 2 -------------------------------------------------------------------------------------------

async fn network_back_once(bench: &Bench) -> Result<(Duration, bool), String> {
    let (a_user, b_user) = bench.pair();
    let proxy = ChaosProxy::start(bench.upstream());
    let a = bench.device(&a_user, proxy.port()).await;
    proxy.refuse_new(true);
    proxy.cut_all();
    wait_until("A noticing the cut", || is_online(&a.session).is_none()).await?;
    a.send(&b_user, QUEUED).await;
    assert_eq!(a.pending(), QUEUED);

    let started = Instant::now();
    proxy.refuse_new(false);
    a.session.reconnect_now();
    wait_until("resumed and acked", || is_online(&a.session).is_some() && a.pending() == 0).await?;
    let elapsed = started.elapsed();
    let resumed = is_online(&a.session) == Some(true);
    a.session.disconnect().await;
    Ok((elapsed, resumed))
}

async fn network_back(bench: &Bench) -> Result<(), String> {
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        rounds.push(network_back_once(bench).await?);
    }
    let resumed = rounds.iter().filter(|(_, r)| *r).count();
    let mut times: Vec<f64> = rounds.iter().map(|(t, _)| t.as_secs_f64()).collect();
    times.sort_by(f64::total_cmp);
    bench.print(&format!(
        "network back → session resumed and {QUEUED} queued messages acked: median {:.3} s, max {:.3} s over {ROUNDS} rounds, resumed {resumed}/{ROUNDS} (target ≤ 1 s)",
        times[times.len() / 2],
        times[times.len() - 1]
    ));
    Ok(())
}

// 3 -------------------------------------------------------------------------------------------

async fn server_restart(bench: &mut Bench) -> Result<(), String> {
    let (a_user, b_user) = bench.pair();
    let proxy = ChaosProxy::start(bench.upstream());
    let a = bench.device(&a_user, proxy.port()).await;
    let b = bench.device(&b_user, bench.server.starttls_port()).await;
    exchange_one(&a, &b, &a_user).await?;

    // A cut off: B's messages reach A's archive (and the session the server keeps for A).
    proxy.refuse_new(true);
    proxy.cut_all();
    b.send(&a_user, RESTART_BACKLOG).await;
    wait_until("B's messages acknowledged", || b.pending() == 0).await?;
    tokio::task::block_in_place(|| bench.server.restart());

    let started = Instant::now();
    proxy.refuse_new(false);
    a.session.reconnect_now();
    wait_until("a new session", || is_online(&a.session) == Some(false)).await?;
    let session = started.elapsed();
    wait_until("the catch-up", || a.count("incoming") >= RESTART_BACKLOG + 1).await?;
    let caught_up = started.elapsed();
    bench.print(&format!(
        "server restart → new session {:.2} s, catch-up of {RESTART_BACKLOG} complete {:.2} s after the server accepts connections (server restart itself {:.1} s) (target ≤ 3 s)",
        session.as_secs_f64(),
        caught_up.as_secs_f64(),
        bench.server.startup_time().as_secs_f64()
    ));
    assert_eq!(a.count("incoming"), RESTART_BACKLOG + 1, "each stored once");
    a.session.disconnect().await;
    b.session.disconnect().await;
    Ok(())
}

/// A figure that could not be measured: said on its line, the others still run.
fn bench_failed(kind: ServerKind, figure: &str, error: String) {
    println!("sync bench [{}] {figure}: NOT MEASURED — {error}", kind.name());
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    rapport_engine::init_crypto();
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for kind in ServerKind::ALL {
        if !only.is_empty() && !only.iter().any(|o| o == kind.name()) {
            continue;
        }
        let mut bench = Bench::start(kind);
        let failed = |figure: &str, error: String| bench_failed(kind, figure, error);
        mam_catch_up(&bench).await.unwrap_or_else(|e| failed("MAM catch-up", e));
        network_back(&bench).await.unwrap_or_else(|e| failed("network back", e));
        server_restart(&mut bench).await.unwrap_or_else(|e| failed("server restart", e));
    }
}

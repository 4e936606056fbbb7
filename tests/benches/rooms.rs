//! Group chat benchmarks (issue 5), on a private Prosody and ejabberd each; one line per figure:
//! 1. Joining a room of 2,000 occupants: a crowd of raw clients (one account, 2,000 resources,
//!    each draining its connection on a thread) is in the room first; time from `join_room` to
//!    our occupant list complete, and how many `OccupantsChanged` events carried it.
//! 2. 100 messages/s in a room for 60 s (a raw client talking): the bench process's CPU and
//!    resident memory per 10 s window, and every message stored (they must stay flat).
//!
//! cargo bench -p rapport-system-tests --bench rooms [-- prosody|ejabberd]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_engine::events::Event;
use rapport_engine::{Session, SessionOptions, Store};
use rapport_system_tests::{RawClient, ServerKind, TestUser, XmppServer};

const CROWD: usize = 2_000;
const LOGIN_THREADS: usize = 8;
const RATE_PER_SECOND: u32 = 100;
const TALK: Duration = Duration::from_secs(60);
const WINDOW: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(600);

struct Bench {
    kind: ServerKind,
    server: XmppServer,
    dir: tempfile::TempDir,
}

impl Bench {
    fn print(&self, figure: &str) {
        println!("rooms bench [{}] {figure}", self.kind.name());
    }

    async fn session(&self, user: &TestUser) -> (Session, Arc<Store>) {
        let account = self.server.account(user);
        let store = Arc::new(Store::open(&self.dir.path().join(format!("{}.sqlite", user.username))).unwrap());
        let session = Session::start_with_store(account, user.password.clone(), store.clone(), SessionOptions::default()).await.unwrap();
        session.wait_online(Duration::from_secs(60)).await.unwrap();
        (session, store)
    }

    fn room(&self, name: &str) -> String {
        format!("{name}@{}", self.server.muc_domain())
    }
}

/// Polls `done` until it holds; after [`WAIT`], `Err` names what never came.
async fn wait_until(what: &str, done: impl FnMut() -> bool) -> Result<(), String> {
    rapport_system_tests::bench::wait_until(what, WAIT, done).await
}

fn join_stanza(room: &str, nick: &str) -> String {
    format!("<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>")
}

/// `count` occupants of `room`, all resources of `user`, joined from a few threads; each
/// connection is then drained by its own thread for the rest of the process.
fn join_crowd(server: &XmppServer, user: &TestUser, room: &str, count: usize) {
    std::thread::scope(|scope| {
        for thread in 0..LOGIN_THREADS {
            scope.spawn(move || {
                for n in (thread..count).step_by(LOGIN_THREADS) {
                    let mut client = RawClient::login_as(server, user, &format!("c{n}")).expect("crowd login");
                    client.send(&join_stanza(room, &format!("crowd-{n}"))).expect("crowd join");
                    client.discard_in_background();
                }
            });
        }
    });
}

// 1 -------------------------------------------------------------------------------------------

async fn big_room_join(bench: &Bench) -> Result<(), String> {
    let server = &bench.server;
    let (owner_user, crowd_user, me_user) = (server.create_user("owner"), server.create_user("crowd"), server.create_user("me"));
    let room = bench.room("crowd");
    let (owner, _) = bench.session(&owner_user).await;
    owner.join_room(&room, "owner", None).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    tokio::task::block_in_place(|| join_crowd(server, &crowd_user, &room, CROWD));
    wait_until("the crowd in the room", || owner.occupants(&room).len() > CROWD).await?;
    bench.print(&format!("({CROWD} occupants joined in {:.1} s)", started.elapsed().as_secs_f64()));

    let (me, _) = bench.session(&me_user).await;
    let mut events = me.subscribe();
    let started = Instant::now();
    me.join_room(&room, "me", None).await.map_err(|e| e.to_string())?;
    let confirmed = started.elapsed();
    wait_until("the occupant list", || me.occupants(&room).len() >= CROWD + 2).await?;
    let complete = started.elapsed();
    let mut occupant_events = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(&event, Event::OccupantsChanged { room: r, .. } if *r == room) {
            occupant_events += 1;
        }
    }
    bench.print(&format!(
        "join a room of {} occupants: occupant list complete {:.2} s after join_room (join confirmed at {:.2} s), in {occupant_events} OccupantsChanged events",
        CROWD + 1,
        complete.as_secs_f64(),
        confirmed.as_secs_f64()
    ));
    me.disconnect().await;
    owner.disconnect().await;
    Ok(())
}

// 2 -------------------------------------------------------------------------------------------

/// CPU seconds used by this process so far (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0) + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0.0);
    kib / 1024.0
}

/// Talks in `room` at `RATE_PER_SECOND` for `TALK`, throwing away what the room sends back.
fn talk(server: &XmppServer, user: &TestUser, room: &str) -> u64 {
    let mut client = RawClient::login_as(server, user, "talker").expect("talker login");
    client.send(&join_stanza(room, "talker")).expect("talker join");
    client.set_read_timeout(Duration::from_millis(1)).unwrap();
    let started = Instant::now();
    let mut sent = 0u64;
    while started.elapsed() < TALK {
        let due = started + Duration::from_secs_f64(sent as f64 / RATE_PER_SECOND as f64);
        if Instant::now() >= due {
            sent += 1;
            client.send(&format!("<message type='groupchat' to='{room}' id='t{sent}'><body>traffic #{sent}</body></message>")).expect("talk");
        } else {
            client.discard_for(due - Instant::now()).expect("drain");
        }
    }
    sent
}

async fn busy_room(bench: &Bench) -> Result<(), String> {
    let (me_user, talker_user) = (bench.server.create_user("listener"), bench.server.create_user("talker"));
    let room = bench.room("busy");
    let (me, store) = bench.session(&me_user).await;
    me.join_room(&room, "listener", None).await.map_err(|e| e.to_string())?;
    let newest = || store.history(&room, None, 1).ok().and_then(|page| page.first().map(|m| m.id)).unwrap_or(0);
    let before = newest();
    let (sent, windows) = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let talker = scope.spawn(|| talk(&bench.server, &talker_user, &room));
            let mut windows = Vec::new();
            let (mut cpu, mut at) = (cpu_seconds(), Instant::now());
            while !talker.is_finished() {
                // A measuring interval, not a wait for something to happen.
                std::thread::sleep(WINDOW);
                let (cpu_now, now) = (cpu_seconds(), Instant::now());
                windows.push(format!("{:.0}% CPU {:.0} MiB", 100.0 * (cpu_now - cpu) / (now - at).as_secs_f64(), resident_mib()));
                (cpu, at) = (cpu_now, now);
            }
            (talker.join().expect("talker"), windows)
        })
    });
    // Row ids grow by one per stored message (nothing else is stored meanwhile).
    wait_until("every message stored", || (newest() - before) as u64 >= sent).await?;
    bench.print(&format!(
        "{RATE_PER_SECOND} messages/s in a room for {} s ({sent} stored): per 10 s: {}",
        TALK.as_secs(),
        windows.join(", ")
    ));
    me.disconnect().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    rapport_engine::init_crypto();
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for kind in ServerKind::ALL {
        if !only.is_empty() && !only.iter().any(|o| o == kind.name()) {
            continue;
        }
        let bench = Bench { kind, server: XmppServer::start(kind), dir: tempfile::tempdir().unwrap() };
        big_room_join(&bench).await.unwrap_or_else(|e| bench.print(&format!("join a big room: NOT MEASURED — {e}")));
        busy_room(&bench).await.unwrap_or_else(|e| bench.print(&format!("busy room: NOT MEASURED — {e}")));
    }
}

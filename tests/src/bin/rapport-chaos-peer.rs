//! A Rapport engine process for the chaos suite (issue 4): the suite SIGKILLs it in the middle of
//! sending and receiving, then starts it again on the same store.
//!
//! ```text
//! RAPPORT_CHAOS_PASSWORD=pw rapport-chaos-peer JID HOST PORT CA_FILE STORE PEER_JID COUNT
//! ```
//!
//! It opens the store, signs in with `Session::start_with_store` (`keep_trying`), and sends
//! `a→b #N` to `PEER_JID` for N from one past the highest number already stored (so a restart
//! continues where the killed run stopped: what is stored, pending or not, is the engine's outbox
//! to deliver, never sent again by us) up to COUNT. Then it stays online receiving until killed
//! or until stdin closes.
//!
//! Progress on stdout, one line each, flushed: `start N` (numbers already stored), `online`,
//! `sent N` (every 100 and the last), `done` (all COUNT stored locally). The engine's log goes
//! to stderr (`RAPPORT_LOG`, default `info`).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use rapport_engine::types::Direction;
use rapport_engine::{AccountConfig, Session, SessionOptions, Store};

/// The body of message `n` from the chaos peer to its contact.
fn body(n: u64) -> String {
    format!("a→b #{n}")
}

struct Args {
    jid: String,
    host: String,
    port: u16,
    ca_file: String,
    store: String,
    peer: String,
    count: u64,
}

fn parse_args() -> Args {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 7 {
        eprintln!("usage: RAPPORT_CHAOS_PASSWORD=pw rapport-chaos-peer JID HOST PORT CA_FILE STORE PEER_JID COUNT");
        std::process::exit(2);
    }
    Args {
        jid: args[0].clone(),
        host: args[1].clone(),
        port: args[2].parse().expect("PORT"),
        ca_file: args[3].clone(),
        store: args[4].clone(),
        peer: args[5].clone(),
        count: args[6].parse().expect("COUNT"),
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The highest N of our stored `a→b #N` messages to `peer` (0 when none), newest pages first.
fn highest_stored(store: &Store, peer: &str) -> u64 {
    let mut before = None;
    loop {
        let page = store.history(peer, before, 500).expect("read the store");
        let Some(last) = page.last() else { return 0 };
        let found = page
            .iter()
            .filter(|m| m.direction == Direction::Outgoing)
            .find_map(|m| m.body.strip_prefix("a→b #").and_then(|n| n.parse().ok()));
        if let Some(n) = found {
            return n;
        }
        before = Some(last.id);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    rapport_engine::init_crypto();
    let filter = std::env::var("RAPPORT_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let args = parse_args();
    let password = std::env::var("RAPPORT_CHAOS_PASSWORD").expect("RAPPORT_CHAOS_PASSWORD");
    let store = Arc::new(Store::open(args.store.as_ref()).expect("open the store"));
    let start = highest_stored(&store, &args.peer);
    say(&format!("start {start}"));

    let mut account = AccountConfig::new(&args.jid).expect("JID");
    account.host = Some(args.host);
    account.port = Some(args.port);
    account.ca_file = Some(args.ca_file.into());
    let options = SessionOptions { keep_trying: true, ..SessionOptions::default() };
    let session = Session::start_with_store(account, password, store, options).await.expect("sign in");
    if session.wait_online(Duration::from_secs(60)).await.is_ok() {
        say("online");
    }

    for n in start + 1..=args.count {
        session.send_message(&args.peer, &body(n)).await.expect("send");
        if n % 100 == 0 || n == args.count {
            say(&format!("sent {n}"));
        }
    }
    say("done");

    // Stay online, receiving, until the suite kills us or closes our stdin.
    tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink())).await.ok();
    session.disconnect().await;
}

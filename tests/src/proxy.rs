//! A loopback TCP proxy between a client and a server that cuts, stalls and throttles the
//! connection on command: the network of the chaos suite (issue 4).
//!
//! [`ChaosProxy::start`] listens on 127.0.0.1 (random port) and forwards every accepted
//! connection to `upstream`, both directions, byte for byte: TLS and STARTTLS pass through
//! untouched, so a client signs in through [`ChaosProxy::port`] exactly as it would to the
//! server itself. Like [`FakeServer`](crate::FakeServer) it runs its own single-threaded tokio
//! runtime on a background thread, so it works from plain `#[test]`s and from any runtime.
//!
//! Style: the controls ([`cut_all`](ChaosProxy::cut_all), [`stall`](ChaosProxy::stall),
//! [`throttle`](ChaosProxy::throttle), [`refuse_new`](ChaosProxy::refuse_new),
//! [`cut_after_bytes`](ChaosProxy::cut_after_bytes)) and the counters are synchronous and take
//! effect at once; the waits ([`wait_for`](ChaosProxy::wait_for) and its shorthands) are async,
//! take a timeout and return whether the condition came true (never sleep to synchronise).
//!
//! What a cut is: both sockets of the connection are closed with `SO_LINGER` 0, i.e. an RST
//! to the client and to the server, no FIN, no `</stream:stream>` — what a dropped network
//! or a crashed NAT looks like. Bytes still in the proxy's send buffers are lost, as on a
//! real network. When one side resets the connection, the proxy resets the other side too;
//! a clean close (FIN) on one side is passed on as a FIN.
//!
//! Dropping the proxy stops the listener and cuts every connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

/// Which way bytes go through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server (upstream).
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// A snapshot of the proxy's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections open right now (accepted and not yet closed on both sides).
    pub live: usize,
    /// Connections accepted and forwarded since the start (refused ones not counted).
    pub accepted: usize,
    /// Connections refused (reset at once) while [`ChaosProxy::refuse_new`] was on.
    pub refused: usize,
    /// Connections the proxy cut ([`ChaosProxy::cut_all`], [`ChaosProxy::cut_after_bytes`],
    /// [`ChaosProxy::cut_randomly`]).
    pub cut: usize,
    /// Bytes forwarded from clients to the server, all connections together.
    pub to_server: u64,
    /// Bytes forwarded from the server to clients, all connections together.
    pub to_client: u64,
}

impl ProxyStats {
    fn bytes_mut(&mut self, direction: Direction) -> &mut u64 {
        match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }
}

struct State {
    /// Live connections by id: notifying one cuts it.
    conns: HashMap<u64, Arc<Notify>>,
    next_id: u64,
    stats: ProxyStats,
    /// An armed [`ChaosProxy::cut_after_bytes`]: the direction and the bytes still to let through.
    cut_after: Option<(Direction, u64)>,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    /// Signalled on every change of `state` (for the blocking [`ChaosProxy::cut_all`]).
    changed: Condvar,
    /// The same changes for async waiters.
    stats: watch::Sender<ProxyStats>,
    stalled: watch::Sender<bool>,
    throttle: watch::Sender<Option<u64>>,
    refuse: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state and tells every waiter.
    fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.lock();
        let result = change(&mut state);
        self.stats.send_replace(state.stats);
        self.changed.notify_all();
        result
    }

    /// Tells every live connection to cut itself; returns their ids.
    fn trigger_cut_all(&self) -> Vec<u64> {
        let state = self.lock();
        for cut in state.conns.values() {
            cut.notify_one();
        }
        state.conns.keys().copied().collect()
    }

    fn any_open(state: &State, ids: &[u64]) -> bool {
        ids.iter().any(|id| state.conns.contains_key(id))
    }

    /// Waits (async) until none of `ids` is open any more.
    async fn closed(&self, ids: &[u64]) {
        let mut changes = self.stats.subscribe();
        while Self::any_open(&self.lock(), ids) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// How many of `n` bytes about to go `direction` may go, and whether to cut after them.
    fn take_bytes(&self, direction: Direction, n: usize) -> (usize, bool) {
        self.update(|state| match state.cut_after {
            Some((armed, left)) if armed == direction && left <= n as u64 => {
                state.cut_after = None;
                (left as usize, true)
            }
            Some((armed, left)) if armed == direction => {
                state.cut_after = Some((armed, left - n as u64));
                (n, false)
            }
            _ => (n, false),
        })
    }
}

/// The loopback chaos proxy; see the module docs.
pub struct ChaosProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How long [`ChaosProxy::cut_all`] waits for the connections to close before it panics
/// (closing is only dropping two sockets on the proxy's thread: this is never reached).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer per direction of a connection.
const BUF: usize = 16 * 1024;

impl ChaosProxy {
    /// Binds 127.0.0.1:0 and starts forwarding every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> ChaosProxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind chaos proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State { conns: HashMap::new(), next_id: 0, stats: ProxyStats::default(), cut_after: None }),
            changed: Condvar::new(),
            stats: watch::Sender::new(ProxyStats::default()),
            stalled: watch::Sender::new(false),
            throttle: watch::Sender::new(None),
            refuse: AtomicBool::new(false),
        });
        // Built here for its handle, dropped on its own thread (a runtime must not be
        // dropped inside another one's async context).
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
        let handle = runtime.handle().clone();
        let (tx, rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("chaos-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                    accept_loop(listener, thread_shared.clone(), rx).await;
                    // Stopped: cut what is still open, then let the runtime go.
                    let ids = thread_shared.trigger_cut_all();
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, thread_shared.closed(&ids)).await;
                });
            })
            .expect("spawn chaos proxy thread");
        ChaosProxy { addr, shared, runtime: handle, shutdown: Some(tx), thread: Some(thread) }
    }

    /// Where clients connect: 127.0.0.1 and [`port`](Self::port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// Where connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Cuts every live connection at once (an RST to both sides; see the module docs) and
    /// returns how many it cut, once they are closed: afterwards
    /// [`connections`](Self::connections) no longer counts them. Blocks the calling thread
    /// for that moment (the proxy runs on its own thread).
    pub fn cut_all(&self) -> usize {
        let ids = self.shared.trigger_cut_all();
        let state = self.shared.lock();
        let (_state, timeout) = self
            .shared
            .changed
            .wait_timeout_while(state, CLOSE_TIMEOUT, |state| Shared::any_open(state, &ids))
            .unwrap_or_else(|e| e.into_inner());
        assert!(!timeout.timed_out(), "chaos proxy: connections still open {CLOSE_TIMEOUT:?} after cut_all");
        ids.len()
    }

    /// `true`: no byte is forwarded in either direction any more, while every socket stays
    /// open (a silent network; new connections are still accepted and connected upstream,
    /// but stay silent too). `false`: what was held back is delivered, in order, and
    /// forwarding resumes. A cut still works while stalled.
    pub fn stall(&self, stalled: bool) {
        self.shared.stalled.send_replace(stalled);
    }

    /// Whether [`stall`](Self::stall) is on.
    pub fn is_stalled(&self) -> bool {
        *self.shared.stalled.borrow()
    }

    /// Limits every direction of every connection to `bytes_per_sec` (each on its own), or
    /// lifts the limit (`None`). A limited direction never delivers `n` bytes in less than
    /// `n / bytes_per_sec` seconds (it forwards chunks of about a tenth of a second's worth).
    pub fn throttle(&self, bytes_per_sec: Option<u64>) {
        assert_ne!(bytes_per_sec, Some(0), "throttle(Some(0)): use stall(true) for a silent network");
        self.shared.throttle.send_replace(bytes_per_sec);
    }

    /// `true`: each new connection is accepted and reset at once (the client's connect
    /// succeeds, then its first read or write fails), counted in
    /// [`total_refused`](Self::total_refused); live connections are not touched. `false`:
    /// new connections are forwarded again.
    pub fn refuse_new(&self, refuse: bool) {
        self.shared.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Arms a one-shot cut: counting from now, once `n` more bytes went `direction` (all
    /// connections together), the connection carrying the `n`-th byte is cut right after it
    /// — the bytes up to it delivered, nothing after. Lets a test cut exactly mid-stanza.
    /// Arming again replaces the previous trigger; [`disarm_cut`](Self::disarm_cut) removes it.
    pub fn cut_after_bytes(&self, direction: Direction, n: u64) {
        self.shared.update(|state| state.cut_after = Some((direction, n)));
    }

    /// Removes the trigger of [`cut_after_bytes`](Self::cut_after_bytes), if it did not fire.
    pub fn disarm_cut(&self) {
        self.shared.update(|state| state.cut_after = None);
    }

    /// Whether a [`cut_after_bytes`](Self::cut_after_bytes) trigger is still waiting.
    pub fn cut_armed(&self) -> bool {
        self.shared.lock().cut_after.is_some()
    }

    /// All counters at once.
    pub fn stats(&self) -> ProxyStats {
        self.shared.lock().stats
    }

    /// Connections open right now.
    pub fn connections(&self) -> usize {
        self.stats().live
    }

    /// Connections accepted and forwarded since the start (not the refused ones).
    pub fn total_accepted(&self) -> usize {
        self.stats().accepted
    }

    /// Connections refused while [`refuse_new`](Self::refuse_new) was on.
    pub fn total_refused(&self) -> usize {
        self.stats().refused
    }

    /// Connections the proxy cut.
    pub fn total_cut(&self) -> usize {
        self.stats().cut
    }

    /// Bytes forwarded `direction` so far, all connections together.
    pub fn bytes(&self, direction: Direction) -> u64 {
        let mut stats = self.stats();
        *stats.bytes_mut(direction)
    }

    /// Waits (up to `timeout`) until `pred` holds for the counters; returns whether it did.
    pub async fn wait_for(&self, timeout: Duration, mut pred: impl FnMut(&ProxyStats) -> bool) -> bool {
        wait_watch(self.shared.stats.subscribe(), timeout, |s| pred(s)).await
    }

    /// Waits until `n` connections in all were accepted since the start (e.g. the client's
    /// reconnection after a cut: `wait_for_connections(proxy.total_accepted() + 1, …)`).
    pub async fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.accepted >= n).await
    }

    /// Waits until exactly `n` connections are open.
    pub async fn wait_for_live(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.live == n).await
    }

    /// Starts cutting in the background: `times` cuts, each one while a connection is open,
    /// a random pause from `interval` after a connection is there (the pauses follow from
    /// `seed`, so a failing run can be replayed with its seed). A round that finds no
    /// connection left to cut when its pause ends does not count and starts again. Stops
    /// when done, on [`RandomCutter::stop`], or when the cutter or the proxy is dropped.
    pub fn cut_randomly(&self, seed: u64, times: usize, interval: Range<Duration>) -> RandomCutter {
        assert!(interval.start <= interval.end, "cut_randomly: empty interval {interval:?}");
        let (progress, watcher) = watch::channel(CutterProgress::default());
        let shared = self.shared.clone();
        let task = self.runtime.spawn(async move {
            let mut rng = SplitMix64(seed);
            let mut live = shared.stats.subscribe();
            let mut done = 0;
            while done < times {
                if live.wait_for(|s| s.live > 0).await.is_err() {
                    break;
                }
                let span = (interval.end - interval.start).as_nanos() as u64;
                let pause = interval.start + Duration::from_nanos(if span == 0 { 0 } else { rng.next() % span });
                tokio::time::sleep(pause).await;
                let ids = shared.trigger_cut_all();
                shared.closed(&ids).await;
                if !ids.is_empty() {
                    done += 1;
                    progress.send_modify(|p| p.cuts = done);
                }
            }
            progress.send_modify(|p| p.finished = true);
        });
        RandomCutter { progress: watcher, task }
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct CutterProgress {
    cuts: usize,
    finished: bool,
}

/// The background task of [`ChaosProxy::cut_randomly`]; dropping it stops the cutting.
pub struct RandomCutter {
    progress: watch::Receiver<CutterProgress>,
    task: tokio::task::JoinHandle<()>,
}

impl RandomCutter {
    /// Cuts made so far (each cut at least one connection).
    pub fn cuts(&self) -> usize {
        self.progress.borrow().cuts
    }

    /// Whether all the cuts asked for were made.
    pub fn finished(&self) -> bool {
        self.progress.borrow().finished
    }

    /// Waits (up to `timeout`) until all the cuts were made; returns whether they were.
    pub async fn wait(&self, timeout: Duration) -> bool {
        wait_watch(self.progress.clone(), timeout, |p| p.finished).await
    }

    /// Stops cutting (a cut in progress completes).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for RandomCutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (up to `timeout`) until `pred` holds for the watched value; returns whether it did.
async fn wait_watch<T>(mut rx: watch::Receiver<T>, timeout: Duration, pred: impl FnMut(&T) -> bool) -> bool {
    let held = tokio::time::timeout(timeout, rx.wait_for(pred)).await;
    matches!(held, Ok(Ok(_)))
}

/// A small seeded generator (SplitMix64): reproducible pauses without a `rand` dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                if shared.refuse.load(Ordering::SeqCst) {
                    let _ = client.set_zero_linger();
                    drop(client);
                    shared.update(|state| state.stats.refused += 1);
                    continue;
                }
                let cut = Arc::new(Notify::new());
                let id = shared.update(|state| {
                    let id = state.next_id;
                    state.next_id += 1;
                    state.conns.insert(id, cut.clone());
                    state.stats.live += 1;
                    state.stats.accepted += 1;
                    id
                });
                tokio::spawn(connection(shared.clone(), id, cut, client));
            }
        }
    }
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Both directions reached EOF and were passed on.
    Closed,
    /// Cut by the proxy.
    Cut,
    /// One side failed (reset): the other is reset too.
    Reset,
}

async fn connection(shared: Arc<Shared>, id: u64, cut: Arc<Notify>, mut client: TcpStream) {
    let upstream = tokio::select! {
        biased;
        _ = cut.notified() => Err(End::Cut),
        connected = TcpStream::connect(shared.upstream) => connected.map_err(|_| End::Reset),
    };
    let (end, upstream) = match upstream {
        Err(end) => (end, None),
        Ok(mut upstream) => {
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let end = {
                let (client_read, client_write) = client.split();
                let (upstream_read, upstream_write) = upstream.split();
                let both = async {
                    tokio::try_join!(
                        pump(&shared, Direction::ToServer, client_read, upstream_write),
                        pump(&shared, Direction::ToClient, upstream_read, client_write),
                    )
                };
                tokio::select! {
                    biased;
                    _ = cut.notified() => End::Cut,
                    ended = both => ended.err().unwrap_or(End::Closed),
                }
            };
            (end, Some(upstream))
        }
    };
    if end != End::Closed {
        let _ = client.set_zero_linger();
        if let Some(upstream) = &upstream {
            let _ = upstream.set_zero_linger();
        }
    }
    // Closed before the counters say so: cut_all's promise.
    drop(client);
    drop(upstream);
    shared.update(|state| {
        state.conns.remove(&id);
        state.stats.live -= 1;
        if end == End::Cut {
            state.stats.cut += 1;
        }
    });
}

/// Forwards one direction until EOF (passed on as a shutdown), an error or a cut.
async fn pump(shared: &Shared, direction: Direction, mut from: ReadHalf<'_>, mut to: WriteHalf<'_>) -> Result<(), End> {
    let mut stalled = shared.stalled.subscribe();
    let mut throttle = shared.throttle.subscribe();
    let mut buf = vec![0u8; BUF];
    // When the bytes let through so far may have gone at the throttled rate.
    let mut next_slot = Instant::now();
    loop {
        let rate = *throttle.borrow_and_update();
        let max = rate.map_or(BUF, |r| (r / 10).clamp(1, BUF as u64) as usize);
        let n = from.read(&mut buf[..max]).await.map_err(|_| End::Reset)?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        if let Some(rate) = rate {
            next_slot = next_slot.max(Instant::now()) + Duration::from_secs_f64(n as f64 / rate as f64);
            tokio::select! {
                _ = tokio::time::sleep_until(next_slot) => {}
                // The limit changed or was lifted: don't sit out the old one.
                _ = throttle.changed() => next_slot = Instant::now(),
            }
        }
        if stalled.wait_for(|stalled| !stalled).await.is_err() {
            return Err(End::Reset);
        }
        let (len, then_cut) = shared.take_bytes(direction, n);
        to.write_all(&buf[..len]).await.map_err(|_| End::Reset)?;
        shared.update(|state| *state.stats.bytes_mut(direction) += len as u64);
        if then_cut {
            return Err(End::Cut);
        }
    }
}

//! Throwaway XMPP servers (Prosody or ejabberd) for system tests.
//!
//! Each [`XmppServer`] is a fresh instance: its own directory, config generated from the
//! templates in [`crate::prosody`] / [`crate::ejabberd`], its own data, a test CA, and free
//! loopback ports. It runs in the foreground as a child process of the test binary and is
//! killed on `Drop` (and by a watchdog if the test binary dies without dropping it).
//!
//! Use [`shared_prosody`] / [`shared_ejabberd`] for ordinary tests: one instance per test
//! binary, and every test creates its own users on it. A test that restarts or stops a
//! server, or breaks it in any way, must start its own with [`XmppServer::start_prosody`] /
//! [`XmppServer::start_ejabberd`].
//!
//! All APIs are blocking (std only), so they work from plain `#[test]`s and from any async
//! runtime (call them from `spawn_blocking` if a blocked worker thread matters).

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ca::{TestCa, TlsFiles};
use crate::process::{self, GroupChild};
use crate::raw::RawClient;
use crate::{ejabberd, prosody};

/// Which server software an instance runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Prosody 0.12 (`prosody -F`).
    Prosody,
    /// ejabberd 23.01 (`ejabberdctl foreground`).
    Ejabberd,
}

impl ServerKind {
    /// `"prosody"` or `"ejabberd"`.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Prosody => "prosody",
            ServerKind::Ejabberd => "ejabberd",
        }
    }

    /// Both kinds, for tests that run against each.
    pub const ALL: [ServerKind; 2] = [ServerKind::Prosody, ServerKind::Ejabberd];
}

/// The loopback ports of one instance (kept across [`XmppServer::restart`]).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// c2s with STARTTLS (required).
    pub starttls: u16,
    /// c2s with direct TLS (XEP-0368).
    pub direct_tls: u16,
    /// Plain HTTP: file upload (and ejabberd's admin API).
    pub http: u16,
    /// ejabberd only: the Erlang distribution port (used instead of epmd); 0 for Prosody.
    pub erlang_dist: u16,
}

/// An account created on a test server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestUser {
    /// Bare JID, e.g. `alice7k3q@localhost`.
    pub jid: String,
    /// Localpart of the JID.
    pub username: String,
    /// Its password (random).
    pub password: String,
}

/// A roster subscription state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// No presence subscription either way.
    None,
    /// The user receives the contact's presence.
    To,
    /// The contact receives the user's presence.
    From,
    /// Both ways.
    Both,
}

impl Subscription {
    /// The XML/`ejabberdctl` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }
}

/// One roster entry for [`XmppServer::set_roster`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub jid: String,
    /// Display name.
    pub name: Option<String>,
    /// Groups (for ejabberd they must not contain `;`: its `add_rosteritem` splits on it).
    pub groups: Vec<String>,
    /// Subscription state.
    pub subscription: Subscription,
}

impl RosterItem {
    /// A contact with `subscription = both`, no name, no group.
    pub fn new(jid: impl Into<String>) -> RosterItem {
        RosterItem { jid: jid.into(), name: None, groups: Vec::new(), subscription: Subscription::Both }
    }
    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> RosterItem {
        self.name = Some(name.into());
        self
    }
    /// Adds a group.
    pub fn group(mut self, group: impl Into<String>) -> RosterItem {
        self.groups.push(group.into());
        self
    }
    /// Sets the subscription state.
    pub fn subscription(mut self, subscription: Subscription) -> RosterItem {
        self.subscription = subscription;
        self
    }
}

/// A running (or stopped) throwaway XMPP server. See the module docs.
pub struct XmppServer {
    kind: ServerKind,
    dir: PathBuf,
    ports: Ports,
    ca: TestCa,
    tls: TlsFiles,
    process: Option<GroupChild>,
    /// Serialises `ejabberdctl` calls: each one boots a small Erlang node whose name has only
    /// 3 random hex digits, so concurrent calls could collide.
    ctl_lock: Mutex<()>,
    roster_version: AtomicU64,
    last_start: Duration,
    keep_dir: bool,
    /// Set when a panic message already carries the log tail (so `Drop` does not repeat it).
    log_reported: bool,
}

static USER_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Time allowed for a server to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl XmppServer {
    /// Starts a fresh Prosody instance; panics (with its log) if it does not come up.
    pub fn start_prosody() -> XmppServer {
        XmppServer::start(ServerKind::Prosody)
    }

    /// Starts a fresh ejabberd instance; panics (with its log) if it does not come up.
    /// Needs root (it then runs as the `ejabberd` user) or to be run as `ejabberd`.
    pub fn start_ejabberd() -> XmppServer {
        XmppServer::start(ServerKind::Ejabberd)
    }

    /// Starts a fresh instance of `kind`.
    pub fn start(kind: ServerKind) -> XmppServer {
        let base = std::env::var_os("RAPPORT_TEST_SERVERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        fs::create_dir_all(&base).expect("create test server base dir");
        let dir = tempfile::Builder::new()
            .prefix(&format!("rapport-{}-", kind.name()))
            .tempdir_in(&base)
            .expect("create instance dir")
            .keep();
        let ports = Ports {
            starttls: process::free_port(),
            direct_tls: process::free_port(),
            http: process::free_port(),
            erlang_dist: if kind == ServerKind::Ejabberd { process::free_port() } else { 0 },
        };
        let ca = TestCa::new(&format!("Rapport test CA ({} {})", kind.name(), ports.starttls));
        let tls = ca.write_server_files(&dir).expect("write TLS files");
        match kind {
            ServerKind::Prosody => prosody::write_config(&dir, &ports, &tls),
            ServerKind::Ejabberd => ejabberd::write_config(&dir, &ports, &tls),
        }
        .expect("write server config");
        let keep_dir = std::env::var_os("RAPPORT_KEEP_TEST_SERVERS").is_some_and(|v| v != "0");
        let mut server = XmppServer {
            kind,
            dir,
            ports,
            ca,
            tls,
            process: None,
            ctl_lock: Mutex::new(()),
            roster_version: AtomicU64::new(1),
            last_start: Duration::ZERO,
            keep_dir,
            log_reported: false,
        };
        server.boot();
        server
    }

    fn boot(&mut self) {
        assert!(self.process.is_none(), "server already running");
        let started = Instant::now();
        let cleanup = (!self.keep_dir).then_some(self.dir.as_path());
        let child = match self.kind {
            ServerKind::Prosody => prosody::spawn(&self.dir, cleanup),
            ServerKind::Ejabberd => ejabberd::spawn(&self.dir, cleanup),
        };
        let child = match child {
            Ok(c) => c,
            Err(e) => panic!(
                "could not spawn {}: {e} (run tests/install-deps?)\n{}",
                self.kind.name(),
                self.log_tail()
            ),
        };
        self.process = Some(child);
        if let Err(e) = self.wait_ready(START_TIMEOUT) {
            let tail = self.log_tail();
            self.stop();
            self.log_reported = true;
            panic!("{} did not start: {e}\n{tail}", self.kind.name());
        }
        self.last_start = started.elapsed();
    }

    /// Readiness without fixed sleeps: poll until (1) the STARTTLS port answers a stream
    /// header with features offering STARTTLS, (2) the direct-TLS port completes a TLS
    /// handshake verified against the test CA and answers a stream header, (3) the HTTP port
    /// accepts, (4) for ejabberd, `ejabberdctl status` says the node is started.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let remaining = || deadline.saturating_duration_since(Instant::now());
        let (host, domain) = (self.host().to_string(), self.domain().to_string());
        let ca_pem = self.ca_pem();
        let ports = self.ports;
        let mut last_err = String::from("nothing tried yet");

        let mut step = |name: &str, f: &mut dyn FnMut() -> Result<(), String>, me: &mut XmppServer| {
            let ok = process::poll_until(remaining(), || {
                if let Some(status) = me.process.as_mut().and_then(|p| p.try_wait()) {
                    last_err = format!("server process exited with {status}");
                    return Some(false);
                }
                match f() {
                    Ok(()) => Some(true),
                    Err(e) => {
                        last_err = e;
                        None
                    }
                }
            });
            match ok {
                Some(true) => Ok(()),
                _ => Err(format!("{name}: {last_err}")),
            }
        };

        step(
            "STARTTLS port answers a stream header",
            &mut || {
                let c = RawClient::connect_plain(&host, ports.starttls, &domain, Duration::from_secs(2))
                    .map_err(|e| e.to_string())?;
                if c.features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
                    Ok(())
                } else {
                    Err(format!("no STARTTLS in features yet: {}", c.features))
                }
            },
            self,
        )?;
        step(
            "direct TLS port answers",
            &mut || {
                RawClient::connect_direct_tls(&host, ports.direct_tls, &domain, &ca_pem)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
            self,
        )?;
        step(
            "HTTP port accepts",
            &mut || {
                TcpStream::connect((host.as_str(), ports.http)).map(|_| ()).map_err(|e| e.to_string())
            },
            self,
        )?;
        if self.kind == ServerKind::Ejabberd {
            let me = &*self;
            let status = || me.ejabberdctl(&["status"]).map(|_| ());
            // Not `ejabberdctl started`: it sleeps 2 s before its first check.
            let ok = process::poll_until(remaining(), || status().ok());
            if ok.is_none() {
                return Err(format!("ejabberdctl status never succeeded: {}", status().unwrap_err()));
            }
        }
        Ok(())
    }

    /// `"prosody"` or `"ejabberd"`.
    pub fn kind(&self) -> &'static str {
        self.kind.name()
    }

    /// The [`ServerKind`].
    pub fn server_kind(&self) -> ServerKind {
        self.kind
    }

    /// The XMPP domain: `"localhost"`.
    pub fn domain(&self) -> &str {
        "localhost"
    }

    /// The MUC component: `"muc.localhost"`.
    pub fn muc_domain(&self) -> &str {
        "muc.localhost"
    }

    /// The HTTP upload (XEP-0363) component: `"upload.localhost"`.
    pub fn upload_domain(&self) -> &str {
        "upload.localhost"
    }

    /// Where to connect: `"127.0.0.1"` (the certificate also carries it as an IP SAN).
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// An engine account for `user` on this server, trusting its test CA.
    pub fn account(&self, user: &TestUser) -> rapport_engine::AccountConfig {
        self.account_via(user, self.starttls_port())
    }

    /// Like [`account`](Self::account), connecting to `port` on the server's host (a proxy's).
    pub fn account_via(&self, user: &TestUser, port: u16) -> rapport_engine::AccountConfig {
        let mut account = rapport_engine::AccountConfig::new(&user.jid).expect("a test user's JID");
        account.host = Some(self.host().into());
        account.port = Some(port);
        account.ca_file = Some(self.ca_file().to_path_buf());
        account
    }

    /// c2s port with (required) STARTTLS.
    pub fn starttls_port(&self) -> u16 {
        self.ports.starttls
    }

    /// c2s port with direct TLS.
    pub fn direct_tls_port(&self) -> u16 {
        self.ports.direct_tls
    }

    /// Plain-HTTP port (upload service; ejabberd's `/api` too).
    pub fn http_port(&self) -> u16 {
        self.ports.http
    }

    /// All ports.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// Path of the CA certificate (PEM) the client must trust.
    pub fn ca_file(&self) -> &Path {
        &self.tls.ca_file
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.cert_pem().to_string()
    }

    /// The CA that signed this server's certificate (to issue more trusted certificates,
    /// e.g. for a [`crate::FakeServer`] the client should accept).
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Paths of `ca.pem`, `server.crt`, `server.key`.
    pub fn tls_files(&self) -> &TlsFiles {
        &self.tls
    }

    /// The instance directory (config, data, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's main log file.
    pub fn log_file(&self) -> PathBuf {
        match self.kind {
            ServerKind::Prosody => self.dir.join("prosody.log"),
            ServerKind::Ejabberd => self.dir.join("logs").join("ejabberd.log"),
        }
    }

    /// The last lines of the server's logs (main log, error log, console), for failure output.
    pub fn log_tail(&self) -> String {
        let mut out = format!(
            "=== {} log tail ({}) ===\n{}\n",
            self.kind(),
            self.log_file().display(),
            process::tail_file(&self.log_file(), 80)
        );
        if self.kind == ServerKind::Ejabberd {
            let err = self.dir.join("logs").join("error.log");
            out += &format!("=== {} ===\n{}\n", err.display(), process::tail_file(&err, 30));
        }
        let console = self.dir.join("console.log");
        out += &format!("=== {} ===\n{}\n", console.display(), process::tail_file(&console, 30));
        out
    }

    /// How long the last start (or restart) took until ready.
    pub fn startup_time(&self) -> Duration {
        self.last_start
    }

    /// PID of the server's process-group leader (`prosody`, or `ejabberdctl` for ejabberd).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.pid())
    }

    /// Whether the server process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.process.as_mut() {
            Some(p) => p.try_wait().is_none(),
            None => false,
        }
    }

    /// Creates an account with a unique localpart starting with `prefix` (reduced to
    /// `[a-z0-9]`) and a random password. Works while the server runs.
    pub fn create_user(&self, prefix: &str) -> TestUser {
        let mut stem: String =
            prefix.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).take(24).collect();
        if stem.is_empty() {
            stem = "user".into();
        }
        let n = USER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let username = format!("{stem}{n}{}", process::random_token(4));
        let password = process::random_token(16);
        match self.kind {
            ServerKind::Prosody => prosody::register(&self.dir, &username, self.domain(), &password),
            ServerKind::Ejabberd => self.ejabberdctl(&["register", &username, self.domain(), &password]).map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("create_user {username} on {}: {e}\n{}", self.kind(), self.log_tail()));
        TestUser { jid: format!("{username}@{}", self.domain()), username, password }
    }

    /// Creates the account `username` (used as given) with a random password; for the demo.
    pub fn create_named_user(&self, username: &str) -> TestUser {
        let password = process::random_token(12);
        match self.kind {
            ServerKind::Prosody => prosody::register(&self.dir, username, self.domain(), &password),
            ServerKind::Ejabberd => self.ejabberdctl(&["register", username, self.domain(), &password]).map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("create_named_user {username} on {}: {e}", self.kind()));
        TestUser { jid: format!("{username}@{}", self.domain()), username: username.into(), password }
    }

    /// Gives `user` the roster `items`, fast enough for big rosters.
    ///
    /// Call it on a user that is not logged in and has not been touched yet (right after
    /// [`create_user`](Self::create_user)):
    /// - Prosody: writes the whole roster file (`data/localhost/roster/<user>.dat`) in
    ///   Prosody's internal storage, replacing it. Prosody caches rosters of users that
    ///   something already asked about (e.g. a presence probe), and a cached roster would
    ///   hide the new file.
    /// - ejabberd: removes existing items, then adds each one through `mod_http_api`'s
    ///   `add_rosteritem` (the same command as `ejabberdctl add_rosteritem`, without booting
    ///   an Erlang node per item: ~10 ms instead of ~0.35 s).
    pub fn set_roster(&self, user: &TestUser, items: &[RosterItem]) {
        let res = match self.kind {
            ServerKind::Prosody => {
                let version = self.roster_version.fetch_add(1, Ordering::Relaxed);
                prosody::write_roster(&self.dir, self.domain(), &user.username, items, version)
            }
            ServerKind::Ejabberd => ejabberd::set_roster(self.ports.http, &user.username, self.domain(), items),
        };
        if let Err(e) = res {
            panic!("set_roster for {} on {}: {e}\n{}", user.jid, self.kind(), self.log_tail());
        }
    }

    /// Runs `ejabberdctl <args>` against this instance (ejabberd only). `Ok(stdout)` on
    /// exit 0, `Err(output)` otherwise.
    pub fn ejabberdctl(&self, args: &[&str]) -> Result<String, String> {
        assert_eq!(self.kind, ServerKind::Ejabberd, "ejabberdctl on a {} server", self.kind());
        let _guard = self.ctl_lock.lock().unwrap_or_else(|e| e.into_inner());
        ejabberd::ctl(&self.dir, args, Duration::from_secs(60))
    }

    /// Evaluates Erlang expressions (`"X = 1, X + 1."`) inside the running ejabberd node (for
    /// what no ejabberdctl command does, e.g. to make a room forget an occupant silently).
    /// `Ok(value printed with ~p)` or `Err(output)`.
    pub fn ejabberd_eval(&self, exprs: &str) -> Result<String, String> {
        assert_eq!(self.kind, ServerKind::Ejabberd, "ejabberd_eval on a {} server", self.kind());
        let _guard = self.ctl_lock.lock().unwrap_or_else(|e| e.into_inner());
        ejabberd::eval(&self.dir, &self.ports, exprs, Duration::from_secs(60))
    }

    /// Runs one line in Prosody's admin shell (`prosodyctl shell LINE` over the instance's admin
    /// socket; a line starting with `>` is Lua run in Prosody's global environment). Prosody only.
    /// `Ok(output)` or `Err(output)`.
    pub fn prosody_shell(&self, line: &str) -> Result<String, String> {
        assert_eq!(self.kind, ServerKind::Prosody, "prosody_shell on a {} server", self.kind());
        prosody::shell(&self.dir, line)
    }

    /// Stops the server (data and directory stay). Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.process.take() else { return };
        if self.kind == ServerKind::Ejabberd && child.try_wait().is_none() {
            let _guard = self.ctl_lock.lock().unwrap_or_else(|e| e.into_inner());
            // A clean `ejabberdctl stop` first (flushes Mnesia); the group kill below is the
            // fallback.
            if ejabberd::ctl(&self.dir, &["stop"], Duration::from_secs(20)).is_ok() {
                child.wait_gone(Duration::from_secs(20));
            }
        }
        child.terminate(Duration::from_secs(10));
    }

    /// Stops and starts the server again on the same ports, certificate and data.
    pub fn restart(&mut self) {
        self.stop();
        self.boot();
    }

    /// Local addresses on which any process of this server listens (from /proc; for
    /// asserting that nothing listens beyond loopback).
    pub fn listening_addresses(&self) -> Vec<std::net::SocketAddr> {
        match &self.process {
            Some(p) => process::group_listen_addrs(p.pid() as i32),
            None => Vec::new(),
        }
    }
}

impl Drop for XmppServer {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        if panicking && !self.log_reported {
            eprintln!("{}", self.log_tail());
        }
        self.stop();
        if panicking || self.keep_dir {
            eprintln!("{} instance directory kept: {}", self.kind(), self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The Prosody instance shared by all tests of this test binary (started on first use).
/// Never stop or restart it; create your own users on it.
pub fn shared_prosody() -> &'static XmppServer {
    static SERVER: OnceLock<XmppServer> = OnceLock::new();
    SERVER.get_or_init(XmppServer::start_prosody)
}

/// The ejabberd instance shared by all tests of this test binary (started on first use).
/// Never stop or restart it; create your own users on it.
pub fn shared_ejabberd() -> &'static XmppServer {
    static SERVER: OnceLock<XmppServer> = OnceLock::new();
    SERVER.get_or_init(XmppServer::start_ejabberd)
}

/// The shared instance of `kind`.
pub fn shared(kind: ServerKind) -> &'static XmppServer {
    match kind {
        ServerKind::Prosody => shared_prosody(),
        ServerKind::Ejabberd => shared_ejabberd(),
    }
}

/// A minimal HTTP/1.1 POST to 127.0.0.1 (used for ejabberd's API). Returns (status, body).
pub(crate) fn http_post(port: u16, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

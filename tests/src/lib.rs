//! Rapport's system-test harness.
//!
//! - [`TestCa`] / [`CertPair`]: throwaway CAs and certificates (rcgen).
//! - [`XmppServer`]: throwaway Prosody and ejabberd instances on free loopback ports;
//!   [`shared_prosody`] / [`shared_ejabberd`] give one instance per test binary.
//! - [`FakeServer`]: scripted hostile servers (no STARTTLS, raw payloads, floods, bad
//!   certificates, silence).
//! - [`ChaosProxy`]: a loopback TCP proxy between client and server that cuts, stalls and
//!   throttles the connection on command (the chaos suite's network).
//! - [`RawClient`]: a tiny blocking XMPP client to check the servers themselves.
//! - [`desktop`]: the real desktop app under Xvfb through WebKitWebDriver.
//! - [`assert_secret_service`]: keyring precondition for tests run by `tests/run`.
//!
//! Requirements on the machine: what `tests/install-deps` installs (prosody, ejabberd,
//! gnome-keyring, dbus). ejabberd instances need root (they run as the `ejabberd` user).
//!
//! Environment knobs: `RAPPORT_TEST_SERVERS_DIR` (parent of instance dirs; default the
//! system temp dir — it must be traversable by the `ejabberd` user),
//! `RAPPORT_KEEP_TEST_SERVERS=1` (keep instance dirs after the test; they are always kept
//! when a test panics while owning the server, and its log tail is printed).

pub mod bench;
pub mod ca;
pub mod desktop;
mod ejabberd;
pub mod fake;
pub mod keyring;
pub mod process;
mod prosody;
pub mod proxy;
pub mod raw;
pub mod scripted;
pub mod server;

pub use ca::{CertPair, TestCa, TlsFiles, SERVER_NAMES};
pub use fake::{Behaviour, FakeServer};
pub use keyring::assert_secret_service;
pub use proxy::{ChaosProxy, Direction, ProxyStats, RandomCutter};
pub use raw::RawClient;
pub use server::{
    shared, shared_ejabberd, shared_prosody, Ports, RosterItem, ServerKind, Subscription, TestUser, XmppServer,
};

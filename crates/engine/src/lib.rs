//! Rapport's headless XMPP client engine.
//!
//! A [`Session`] owns one account's XMPP connection. Commands go in as async method calls, typed
//! [`Event`]s come out of a broadcast stream, and history is queried page by page from the [`Store`].

pub mod types;
pub mod store;
pub mod config;
pub mod connection;
pub mod credentials;
pub mod error;

pub use error::{EngineError, Result};
pub mod pipeline;
pub mod events;
pub mod session;

pub use config::{AccountConfig, Profile};
pub use events::{ConnectionState, Event};
pub use session::{Session, SessionOptions};
pub use store::Store;

/// Installs the process-wide TLS crypto provider. Call once at start-up (idempotent).
pub fn init_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

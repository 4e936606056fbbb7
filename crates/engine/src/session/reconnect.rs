//! Keeps the stream connected: hands tokio-xmpp's `StanzaStream` a fresh authenticated
//! connection whenever it loses one, with exponential backoff — and stops, reporting why, on
//! errors that a retry cannot fix (the stock reconnector retries forever, even on a wrong
//! password).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::stanzastream::{Connection, StanzaStream};
use xmpp_parsers::jid::FullJid;

use crate::config::AccountConfig;
use crate::connection::{self, LoginInfo};
use crate::error::EngineError;

/// Retries come quickly at first (a server restart or a network blip is over in seconds), then
/// back off: 0.5 s, 1 s, then every 2 s up to the tenth attempt (about 20 s), then doubling to
/// a minute.
const FIRST_DELAY: Duration = Duration::from_millis(500);
const EARLY_DELAY: Duration = Duration::from_secs(2);
const EARLY_ATTEMPTS: u32 = 10;
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A session shorter than this counts as dropped right after sign-in.
const STABLE_SESSION: Duration = Duration::from_secs(30);
/// Stanzas the stream buffers between the socket and the actor: while one batch is stored, the
/// next accumulates here (adaptive batching under load).
const QUEUE_DEPTH: usize = 4096;

pub enum LoginReport {
    Succeeded(LoginInfo),
    Retrying { attempt: u32, delay: Duration, error: EngineError },
    /// The slot travels with the report: dropping it would make tokio-xmpp's worker panic, so
    /// the actor keeps it while it shuts the stream down.
    Fatal(EngineError, oneshot::Sender<Connection>),
}

/// Delay before retry `attempt` (1-based), with ±20 % jitter so a server restart does not bring
/// every client back in the same instant.
pub fn backoff(attempt: u32) -> Duration {
    let base = if attempt <= EARLY_ATTEMPTS {
        FIRST_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(2)).min(EARLY_DELAY)
    } else {
        EARLY_DELAY.saturating_mul(1u32 << (attempt - EARLY_ATTEMPTS).min(6)).min(MAX_DELAY)
    };
    let jitter = (uuid::Uuid::new_v4().as_u128() % 400) as f64 / 1000.0 - 0.2;
    base.mul_f64(1.0 + jitter)
}

pub fn stanza_stream(
    account: AccountConfig,
    password: String,
    identity: FullJid,
    first: Option<(Connection, LoginInfo)>,
    reports: mpsc::UnboundedSender<LoginReport>,
    retry_now: std::sync::Arc<tokio::sync::Notify>,
    session_worked: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> StanzaStream {
    let mut first = first;
    let mut last_login = std::time::Instant::now();
    let mut quick_drops = 0;
    let reconnector = move |_: Option<String>, mut slot: oneshot::Sender<Connection>| {
        if let Some((connection, info)) = first.take() {
            let _ = reports.send(LoginReport::Succeeded(info));
            let _ = slot.send(connection);
            return;
        }
        // A session that dies right after signing in (server refusing it after login) must not
        // make us reconnect in a tight loop: back off as for failed attempts. A session that got
        // to work (resumed, or fetched its roster) was not refused, however soon it dropped.
        let worked = session_worked.swap(false, std::sync::atomic::Ordering::Relaxed);
        quick_drops = if last_login.elapsed() < STABLE_SESSION && !worked { quick_drops + 1 } else { 0 };
        last_login = std::time::Instant::now();
        let pause = (quick_drops > 1).then(|| backoff(quick_drops - 1));
        let (account, password, identity, reports, retry_now) =
            (account.clone(), password.clone(), identity.clone(), reports.clone(), retry_now.clone());
        tokio::spawn(async move {
            if let Some(pause) = pause {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = retry_now.notified() => {}
                }
            }
            let mut attempt = 0;
            loop {
                attempt += 1;
                match connection::login(&account, &password, &identity).await {
                    Ok((connection, info)) => {
                        let _ = reports.send(LoginReport::Succeeded(info));
                        let _ = slot.send(connection);
                        return;
                    }
                    Err(error) if error.is_fatal() => {
                        let _ = reports.send(LoginReport::Fatal(error, slot));
                        return;
                    }
                    Err(error) => {
                        let delay = backoff(attempt);
                        let _ = reports.send(LoginReport::Retrying { attempt, delay, error });
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = retry_now.notified() => {}
                            _ = slot.closed() => return,
                        }
                    }
                }
            }
        });
    };
    StanzaStream::new(Box::new(reconnector), QUEUE_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_quick_at_first_then_doubles_up_to_a_minute_with_jitter() {
        let close = |d: Duration, secs: f64| (d.as_secs_f64() - secs).abs() <= secs * 0.21;
        assert!(close(backoff(1), 0.5));
        assert!(close(backoff(2), 1.0));
        assert!(close(backoff(3), 2.0));
        assert!(close(backoff(10), 2.0));
        assert!(close(backoff(11), 4.0));
        assert!(close(backoff(13), 16.0));
        assert!(close(backoff(30), 60.0));
        assert!(backoff(u32::MAX) <= Duration::from_secs(73));
    }
}

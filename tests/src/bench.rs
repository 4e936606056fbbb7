//! What the benchmarks (tests/benches) share: waiting for a condition with a deadline, as an
//! error that names what never came (a figure that could not be measured is printed as such).

use std::time::{Duration, Instant};

/// How often a condition is checked.
const POLL: Duration = Duration::from_millis(5);

/// Polls `done` until it holds; after `timeout`, `Err` names what never came.
pub async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("{what} not within {} s", timeout.as_secs()));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

//! Where a new message goes in its conversation's (timestamp, id) order.
//!
//! Messages carry stamps from different clocks: our receive time for live messages, the sender's
//! clock in the XEP-0203 delay of a resent message, the server's (to the second, on Prosody) for
//! archived and offline messages. Each side's messages reach us in the order they were sent
//! (one server, in-order streams, and the catch-up holds live messages back), so arrival order
//! is the truth at the scale where those clocks disagree:
//! - a message stamped up to a minute before the newest one from the same side is placed right
//!   after it (the sender's order);
//! - a message stamped up to 2 s before the conversation's newest message is placed right after
//!   it (a second-precision stamp against our millisecond clock).
//! Anything older keeps its own time: a message that waited on the server for hours belongs
//! where its time says. The shift is the displayed time too, bounded by those windows.

use rusqlite::{OptionalExtension, Transaction};

use crate::types::{Direction, Millis};

const SAME_SIDE_WINDOW_MS: Millis = 60_000;
const ANY_SIDE_WINDOW_MS: Millis = 2_000;

/// The newest timestamps of one conversation.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Newest {
    any: Millis,
    incoming: Millis,
    outgoing: Millis,
}

impl Newest {
    pub(super) fn load(tx: &Transaction<'_>, conversation: &str) -> rusqlite::Result<Newest> {
        let row = tx
            .prepare_cached("SELECT last_activity, newest_incoming, newest_outgoing FROM conversations WHERE jid = ?1")?
            .query_row([conversation], |row| Ok(Newest { any: row.get(0)?, incoming: row.get(1)?, outgoing: row.get(2)? }))
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    fn of(&self, direction: Direction) -> Millis {
        match direction {
            Direction::Incoming => self.incoming,
            Direction::Outgoing => self.outgoing,
        }
    }

    /// The timestamp a new message stamped `stamp` is stored with.
    pub(super) fn place(&self, direction: Direction, stamp: Millis) -> Millis {
        let same_side = self.of(direction);
        let stamp = if stamp < same_side && same_side.saturating_sub(stamp) <= SAME_SIDE_WINDOW_MS { same_side } else { stamp };
        if stamp < self.any && self.any.saturating_sub(stamp) <= ANY_SIDE_WINDOW_MS {
            self.any
        } else {
            stamp
        }
    }

    pub(super) fn record(&mut self, direction: Direction, timestamp: Millis) {
        self.any = self.any.max(timestamp);
        let side = match direction {
            Direction::Incoming => &mut self.incoming,
            Direction::Outgoing => &mut self.outgoing,
        };
        *side = (*side).max(timestamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = 1_767_225_600_000;

    fn newest(any: Millis, incoming: Millis, outgoing: Millis) -> Newest {
        Newest { any, incoming, outgoing }
    }

    #[test]
    fn a_sides_messages_keep_their_arrival_order_within_a_minute() {
        let n = newest(T + 5_000, T + 5_000, T);
        assert_eq!(n.place(Direction::Incoming, T + 1_000), T + 5_000);
        assert_eq!(n.place(Direction::Incoming, T + 6_000), T + 6_000);
        // Two hours old: it waited on the server; it goes where its time says.
        assert_eq!(n.place(Direction::Incoming, T - 7_200_000), T - 7_200_000);
    }

    #[test]
    fn a_stamp_just_before_the_other_sides_newest_goes_after_it() {
        let n = newest(T + 800, T - 60_000, T + 800);
        assert_eq!(n.place(Direction::Incoming, T), T + 800);
        // Older than 2 s: the other side's clock decides.
        assert_eq!(n.place(Direction::Incoming, T - 5_000), T - 5_000);
    }

    #[test]
    fn recording_keeps_the_maxima() {
        let mut n = Newest::default();
        n.record(Direction::Outgoing, T);
        n.record(Direction::Incoming, T - 10);
        assert_eq!((n.any, n.incoming, n.outgoing), (T, T - 10, T));
    }
}

//! When a message was written, as well as we can tell.
//!
//! The history is ordered by time, and stamps come from different clocks. The author's own clock
//! is the one that puts a side's messages in the order they were written, so it wins when we
//! have it: a XEP-0203 delay the author added (a resend), or the time inside a time-ordered
//! origin-id (UUIDv7, which Rapport writes, millisecond-exact and unique per message). Otherwise
//! the server's stamp or our receive time stands in, and the store keeps such messages in
//! arrival order where clocks disagree (see `store::order`).

use uuid::{NoContext, Timestamp, Uuid, Version};
use xmpp_parsers::date::DateTime;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::ns;

use super::{clamp_timestamp, origin_id};
use crate::types::Millis;

/// An origin-id's time is only believed this close to the time the server vouches for.
const ORIGIN_ID_TOLERANCE_MS: Millis = 5 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub millis: Millis,
    /// The author's own clock.
    pub by_author: bool,
}

/// The time of `message`. `vouched`: what our server says (an archive or carbon stamp), if
/// anything; our receive time `now` otherwise.
pub fn written_at(message: &XmppMessage, vouched: Option<Millis>, now: Millis) -> Stamp {
    let author = message.from.as_ref().map(Jid::to_bare);
    let mut server_delay = None;
    for delay in message.payloads.iter().filter(|p| p.is("delay", ns::DELAY)) {
        let Some(stamp) = delay.attr("stamp").and_then(|s| s.parse::<DateTime>().ok()) else { continue };
        let millis = clamp_timestamp(stamp.0.timestamp_millis(), now);
        let from = delay.attr("from").and_then(|f| f.parse::<Jid>().ok()).map(|f| f.to_bare());
        if from.is_none() || from == author {
            return Stamp { millis, by_author: true };
        }
        server_delay.get_or_insert(millis);
    }
    let reference = server_delay.or(vouched).unwrap_or(now);
    let from_id = origin_id(&message.payloads)
        .and_then(|id| id_time(&id))
        .filter(|t| t.abs_diff(reference) <= ORIGIN_ID_TOLERANCE_MS as u64)
        .map(|t| clamp_timestamp(t, now));
    match from_id {
        Some(millis) => Stamp { millis, by_author: true },
        None => Stamp { millis: reference, by_author: false },
    }
}

/// A time-ordered id (UUIDv7) carrying `millis`.
pub fn time_ordered_id(millis: Millis) -> String {
    let millis = millis.max(0) as u64;
    Uuid::new_v7(Timestamp::from_unix(NoContext, millis / 1000, (millis % 1000) as u32 * 1_000_000)).to_string()
}

/// The time inside a UUIDv7 id.
fn id_time(id: &str) -> Option<Millis> {
    let uuid = Uuid::parse_str(id).ok()?;
    if uuid.get_version() != Some(Version::SortRand) {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    Some(secs as Millis * 1000 + (nanos / 1_000_000) as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::minidom::Element;

    const NOW: Millis = 1_800_000_000_000;

    fn message(payloads: &str) -> XmppMessage {
        let xml = format!("<message xmlns='jabber:client' from='bob@example.org/phone' type='chat'><body>x</body>{payloads}</message>");
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn a_time_ordered_origin_id_gives_the_authors_millisecond() {
        let id = time_ordered_id(NOW - 1_234);
        assert_eq!(id_time(&id), Some(NOW - 1_234));
        let m = message(&format!("<origin-id xmlns='urn:xmpp:sid:0' id='{id}'/>"));
        assert_eq!(written_at(&m, None, NOW), Stamp { millis: NOW - 1_234, by_author: true });
    }

    #[test]
    fn the_authors_delay_wins_and_a_servers_delay_is_only_a_reference() {
        let authors = message("<delay xmlns='urn:xmpp:delay' from='bob@example.org/phone' stamp='2027-01-15T08:00:00.250Z'/>");
        assert!(written_at(&authors, None, NOW).by_author);
        let servers = message("<delay xmlns='urn:xmpp:delay' from='example.org' stamp='2027-01-15T08:00:00Z'/>");
        let stamp = written_at(&servers, None, NOW);
        assert!(!stamp.by_author);
        assert_eq!(stamp.millis, NOW);
    }

    #[test]
    fn an_origin_id_far_from_what_the_server_says_is_not_believed() {
        let id = time_ordered_id(NOW - 3_600_000);
        let m = message(&format!("<origin-id xmlns='urn:xmpp:sid:0' id='{id}'/>"));
        assert_eq!(written_at(&m, None, NOW), Stamp { millis: NOW, by_author: false });
        let random = message("<origin-id xmlns='urn:xmpp:sid:0' id='9f2b8e4c-1a8b-4c1e-9d3f-0a1b2c3d4e5f'/>");
        assert!(!written_at(&random, Some(NOW - 10), NOW).by_author);
        assert_eq!(written_at(&random, Some(NOW - 10), NOW).millis, NOW - 10);
    }
}

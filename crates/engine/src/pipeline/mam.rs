//! XEP-0313 Message Archive Management with XEP-0059 paging: the queries we send and the
//! results we accept.
//!
//! Results arrive as messages before the query's answer. Only our own server may send them (from
//! our bare JID) and only for a query we sent and have not finished; the session checks the
//! second rule, this module the first.

use xmpp_parsers::date::DateTime;
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::mam::{Fin, Result_};
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;

use super::{is_own_account, Rejection};
use crate::types::Millis;

const DATA_FORMS: &str = "jabber:x:data";

/// One archived message, verified to come from our own archive.
#[derive(Debug, Clone)]
pub struct ArchivedMessage {
    pub query_id: String,
    /// The archive's id (a stanza-id stamped by our account).
    pub archive_id: String,
    pub message: XmppMessage,
    pub stamp: Option<DateTime>,
}

/// `None`: not an archive result. `Some(Err)`: a result we must not accept. `room_of`: the room
/// a query id was sent to (XEP-0313 on a XEP-0045 room), `None` for our own archive; results
/// must come from that archive and nowhere else.
pub fn result(message: &XmppMessage, own: &BareJid, room_of: impl Fn(&str) -> Option<BareJid>) -> Option<Result<ArchivedMessage, Rejection>> {
    let payload = message.payloads.iter().find(|p| p.is("result", ns::MAM))?;
    let from_expected_archive = match room_of(payload.attr("queryid").unwrap_or_default()) {
        Some(room) => message.from.as_ref().is_some_and(|from| from.resource().is_none() && from.to_bare() == room),
        None => is_own_account(message.from.as_ref(), own),
    };
    if !from_expected_archive {
        let from = message.from.as_ref().map(|j| j.to_string()).unwrap_or_default();
        return Some(Err(Rejection::ForeignArchiveResult { from }));
    }
    Some(match Result_::try_from(payload.clone()) {
        Ok(result) => Ok(ArchivedMessage {
            query_id: result.queryid.map(|q| q.0).unwrap_or_default(),
            archive_id: result.id,
            stamp: result.forwarded.delay.map(|d| d.stamp),
            message: result.forwarded.message,
        }),
        Err(error) => Err(Rejection::Malformed { what: "archive result", detail: error.to_string() }),
    })
}

/// Which page of the archive to ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    /// A room's archive (the query goes to the room); `None`: our own archive.
    pub archive: Option<BareJid>,
    /// Only the conversation with this contact.
    pub with: Option<BareJid>,
    /// Only messages from this time on.
    pub start: Option<Millis>,
    /// Only messages up to this time.
    pub end: Option<Millis>,
    /// The page right after this archive id (catching up, oldest first).
    pub after: Option<String>,
    /// The page right before this archive id; `Some("")` asks for the newest page.
    pub before: Option<String>,
    pub max: usize,
}

pub fn query(query_id: &str, page: &PageRequest) -> Element {
    let mut form = Element::builder("x", DATA_FORMS).attr(xml_ncname!("type").into(), "submit").append(field("FORM_TYPE", ns::MAM, Some("hidden")));
    if let Some(with) = &page.with {
        form = form.append(field("with", with.as_str(), None));
    }
    for (var, time) in [("start", page.start), ("end", page.end)] {
        if let Some(time) = time.and_then(chrono::DateTime::from_timestamp_millis) {
            form = form.append(field(var, &time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), None));
        }
    }
    let mut set = Element::builder("set", ns::RSM).append(Element::builder("max", ns::RSM).append(page.max.to_string()));
    if let Some(after) = &page.after {
        set = set.append(Element::builder("after", ns::RSM).append(after.as_str()));
    }
    if let Some(before) = &page.before {
        set = set.append(Element::builder("before", ns::RSM).append(before.as_str()));
    }
    Element::builder("query", ns::MAM).attr(xml_ncname!("queryid").into(), query_id).append(form.build()).append(set.build()).build()
}

fn field(var: &str, value: &str, kind: Option<&str>) -> Element {
    let mut field = Element::builder("field", DATA_FORMS).attr(xml_ncname!("var").into(), var);
    if let Some(kind) = kind {
        field = field.attr(xml_ncname!("type").into(), kind);
    }
    field.append(Element::builder("value", DATA_FORMS).append(value)).build()
}

/// The end of one page: whether the archive has nothing more in that direction, and the ids of
/// the page's first and last messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageEnd {
    pub complete: bool,
    pub first: Option<String>,
    pub last: Option<String>,
}

pub fn page_end(answer: Element) -> Result<PageEnd, Rejection> {
    let fin = Fin::try_from(answer).map_err(|e| Rejection::Malformed { what: "archive answer", detail: e.to_string() })?;
    Ok(PageEnd { complete: fin.complete, first: fin.set.first.map(|f| f.item), last: fin.set.last })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> BareJid {
        BareJid::new("me@example.org").unwrap()
    }

    fn archived(from: &str) -> XmppMessage {
        let xml = format!(
            "<message xmlns='jabber:client' from='{from}' to='me@example.org/desk'>\
               <result xmlns='urn:xmpp:mam:2' queryid='q1' id='a-7'><forwarded xmlns='urn:xmpp:forward:0'>\
                 <delay xmlns='urn:xmpp:delay' stamp='2026-01-01T10:00:00Z'/>\
                 <message xmlns='jabber:client' from='bob@example.org/p' to='me@example.org' type='chat'><body>hi</body></message>\
               </forwarded></result></message>"
        );
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn results_from_our_archive_are_unwrapped() {
        for from in ["me@example.org"] {
            let result = result(&archived(from), &own(), |_| None).unwrap().unwrap();
            assert_eq!((result.query_id.as_str(), result.archive_id.as_str()), ("q1", "a-7"));
            assert_eq!(result.stamp.unwrap().0.timestamp(), 1_767_261_600);
        }
    }

    #[test]
    fn results_from_anyone_else_are_rejected() {
        for from in ["bob@example.org", "bob@example.org/p", "me@example.org/other", "example.org"] {
            assert!(matches!(result(&archived(from), &own(), |_| None).unwrap(), Err(Rejection::ForeignArchiveResult { .. })), "{from}");
        }
    }

    #[test]
    fn results_of_a_room_query_come_from_that_room_only() {
        let room = BareJid::new("lobby@muc.example.org").unwrap();
        let room_of = |id: &str| (id == "q1").then(|| room.clone());
        assert!(result(&archived("lobby@muc.example.org"), &own(), room_of).unwrap().is_ok());
        for from in ["other@muc.example.org", "lobby@muc.example.org/bob", "me@example.org", "muc.example.org"] {
            assert!(matches!(result(&archived(from), &own(), room_of).unwrap(), Err(Rejection::ForeignArchiveResult { .. })), "{from}");
        }
        // A room's result for a query that went to our own archive is refused too.
        assert!(result(&archived("lobby@muc.example.org"), &own(), |_| None).unwrap().is_err());
    }

    #[test]
    fn a_query_carries_the_filters_and_the_page() {
        let page = PageRequest {
            with: Some(BareJid::new("bob@example.org").unwrap()),
            end: Some(1_767_261_600_000),
            before: Some(String::new()),
            max: 50,
            ..PageRequest::default()
        };
        let xml = String::from(&query("q9", &page));
        assert!(xml.contains("queryid='q9'"), "{xml}");
        assert!(xml.contains("<value>bob@example.org</value>"), "{xml}");
        assert!(xml.contains("2026-01-01T10:00:00.000Z"), "{xml}");
        assert!(xml.contains("<max>50</max>") && xml.contains("<before"), "{xml}");
        xmpp_parsers::mam::Query::try_from(query("q9", &page)).unwrap();
    }

    #[test]
    fn the_page_end_tells_whether_the_archive_is_exhausted() {
        let fin: Element = "<fin xmlns='urn:xmpp:mam:2' complete='true'><set xmlns='http://jabber.org/protocol/rsm'>\
            <first index='0'>a-1</first><last>a-9</last></set></fin>"
            .parse()
            .unwrap();
        assert_eq!(page_end(fin).unwrap(), PageEnd { complete: true, first: Some("a-1".into()), last: Some("a-9".into()) });
    }
}

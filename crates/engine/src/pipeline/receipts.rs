//! XEP-0184 delivery receipts and XEP-0333 chat markers: how far our messages got, and telling
//! contacts how far theirs got.

use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Id, Message as XmppMessage};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;

use crate::types::DeliveryState;

pub const CHAT_MARKERS: &str = "urn:xmpp:chat-markers:0";
const HINTS: &str = "urn:xmpp:hints";

/// A contact saying our message `reference` (its id) reached `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub reference: String,
    pub state: DeliveryState,
}

/// The receipt or marker a message carries, if any.
pub fn acknowledgement(message: &XmppMessage) -> Option<Acknowledgement> {
    message.payloads.iter().find_map(|p| {
        let state = if p.is("received", ns::RECEIPTS) || p.is("received", CHAT_MARKERS) {
            DeliveryState::Delivered
        } else if p.is("displayed", CHAT_MARKERS) || p.is("acknowledged", CHAT_MARKERS) {
            DeliveryState::Read
        } else {
            return None;
        };
        let reference = p.attr("id").filter(|id| !id.is_empty() && id.len() <= super::MAX_ID_CHARS)?;
        Some(Acknowledgement { reference: reference.to_owned(), state })
    })
}

/// The sender asked for a delivery receipt.
pub fn wants_receipt(message: &XmppMessage) -> bool {
    message.id.is_some() && message.payloads.iter().any(|p| p.is("request", ns::RECEIPTS))
}

pub fn is_markable(message: &XmppMessage) -> bool {
    message.payloads.iter().any(|p| p.is("markable", CHAT_MARKERS))
}

/// What we add to every chat message we send: a receipt request and markable.
pub fn requests() -> [Element; 2] {
    [Element::builder("request", ns::RECEIPTS).build(), Element::builder("markable", CHAT_MARKERS).build()]
}

/// Our answer to a message that reached us: a XEP-0184 receipt (when asked) and a `received`
/// marker (when markable).
pub fn delivery_answer(to: Jid, reference: &str, receipt: bool, markable: bool) -> Option<XmppMessage> {
    if !receipt && !markable {
        return None;
    }
    let mut answer = answer_to(to);
    if receipt {
        answer.payloads.push(Element::builder("received", ns::RECEIPTS).attr(xml_ncname!("id").into(), reference).build());
    }
    if markable {
        answer.payloads.push(Element::builder("received", CHAT_MARKERS).attr(xml_ncname!("id").into(), reference).build());
    }
    Some(answer)
}

/// A `displayed` marker: we read everything up to `reference`.
pub fn displayed(to: Jid, reference: &str) -> XmppMessage {
    let mut answer = answer_to(to);
    answer.payloads.push(Element::builder("displayed", CHAT_MARKERS).attr(xml_ncname!("id").into(), reference).build());
    answer
}

fn answer_to(to: Jid) -> XmppMessage {
    let mut answer = XmppMessage::chat(Some(to));
    answer.id = Some(Id(uuid::Uuid::new_v4().to_string()));
    // Markers are archived (other devices learn what we read); receipts need not be.
    answer.payloads.push(Element::builder("store", HINTS).build());
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(xml: &str) -> XmppMessage {
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn receipts_and_markers_are_read_as_states() {
        let receipt = message("<message xmlns='jabber:client' from='bob@x/a'><received xmlns='urn:xmpp:receipts' id='m1'/></message>");
        assert_eq!(acknowledgement(&receipt), Some(Acknowledgement { reference: "m1".into(), state: DeliveryState::Delivered }));
        let displayed = message("<message xmlns='jabber:client' from='bob@x/a'><displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/></message>");
        assert_eq!(acknowledgement(&displayed).unwrap().state, DeliveryState::Read);
        let no_id = message("<message xmlns='jabber:client' from='bob@x/a'><displayed xmlns='urn:xmpp:chat-markers:0'/></message>");
        assert_eq!(acknowledgement(&no_id), None);
    }

    #[test]
    fn answers_carry_what_was_asked_for() {
        let to: Jid = "bob@x/a".parse().unwrap();
        assert!(delivery_answer(to.clone(), "m1", false, false).is_none());
        let answer = delivery_answer(to.clone(), "m1", true, true).unwrap();
        assert_eq!(acknowledgement(&answer).unwrap().reference, "m1");
        assert_eq!(answer.payloads.iter().filter(|p| p.name() == "received").count(), 2);
        let request = message("<message xmlns='jabber:client' from='bob@x/a' id='q'><body>x</body><request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/></message>");
        assert!(wants_receipt(&request) && is_markable(&request));
    }
}

//! XEP-0085 chat states: typing notifications, in and out.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;

use crate::types::ChatState;

const HINTS: &str = "urn:xmpp:hints";

/// The chat state a message carries, if any.
pub fn parse(message: &XmppMessage) -> Option<ChatState> {
    message.payloads.iter().filter(|p| p.ns() == ns::CHATSTATES).find_map(|p| ChatState::parse(p.name()))
}

pub fn element(state: ChatState) -> Element {
    Element::builder(state.as_str(), ns::CHATSTATES).build()
}

/// A standalone chat state notification; servers need not store or archive it.
pub fn notification(to: &BareJid, state: ChatState) -> XmppMessage {
    let mut message = XmppMessage::chat(Some(Jid::from(to.clone())));
    message.payloads.push(element(state));
    message.payloads.push(Element::builder("no-store", HINTS).build());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_ones_are_ignored() {
        let to = BareJid::new("bob@example.org").unwrap();
        let message = notification(&to, ChatState::Composing);
        assert_eq!(parse(&message), Some(ChatState::Composing));
        let odd = XmppMessage::try_from(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><dancing xmlns='http://jabber.org/protocol/chatstates'/></message>"
                .parse::<Element>()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(parse(&odd), None);
    }
}

//! XEP-0280 Message Carbons: copies of what our other devices sent and received.
//!
//! Only our own server may send a carbon copy, so one is accepted only from our bare JID.
//! Anyone else could otherwise put words in our mouth ("sent") or in a contact's ("received").

use xmpp_parsers::carbons::{Received, Sent};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::ns;

use super::{is_own_account, Rejection};

/// A verified carbon copy: the forwarded message and its time.
#[derive(Debug, Clone)]
pub struct CarbonCopy {
    /// Our other device sent it (else: it received it).
    pub sent: bool,
    pub message: XmppMessage,
    /// The forwarded delay stamp, if the server added one.
    pub stamp: Option<xmpp_parsers::date::DateTime>,
}

/// `None`: not a carbon copy. `Some(Err)`: a carbon copy we must not accept.
pub fn unwrap(message: &XmppMessage, own: &BareJid) -> Option<Result<CarbonCopy, Rejection>> {
    let wrapper = message.payloads.iter().find(|p| p.is("sent", ns::CARBONS) || p.is("received", ns::CARBONS))?;
    if !is_own_account(message.from.as_ref(), own) {
        let from = message.from.as_ref().map(|j| j.to_string()).unwrap_or_default();
        return Some(Err(Rejection::ForeignCarbon { from }));
    }
    let sent = wrapper.name() == "sent";
    let forwarded = if sent {
        Sent::try_from(wrapper.clone()).map(|s| s.forwarded)
    } else {
        Received::try_from(wrapper.clone()).map(|r| r.forwarded)
    };
    Some(match forwarded {
        Ok(forwarded) => Ok(CarbonCopy { sent, message: forwarded.message, stamp: forwarded.delay.map(|d| d.stamp) }),
        Err(error) => Err(Rejection::Malformed { what: "carbon copy", detail: error.to_string() }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_parsers::minidom::Element;

    fn own() -> BareJid {
        BareJid::new("me@example.org").unwrap()
    }

    fn carbon(from: &str, kind: &str) -> XmppMessage {
        let xml = format!(
            "<message xmlns='jabber:client' from='{from}' to='me@example.org/desk' type='chat'>\
               <{kind} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
                 <message xmlns='jabber:client' from='me@example.org/phone' to='bob@example.org' type='chat' id='m1'><body>hi</body></message>\
               </forwarded></{kind}></message>"
        );
        XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn a_carbon_from_our_bare_jid_is_unwrapped() {
        let copy = unwrap(&carbon("me@example.org", "sent"), &own()).unwrap().unwrap();
        assert!(copy.sent);
        assert_eq!(copy.message.to.unwrap().to_string(), "bob@example.org");
        let received = unwrap(&carbon("me@example.org", "received"), &own()).unwrap().unwrap();
        assert!(!received.sent);
    }

    #[test]
    fn a_carbon_from_anyone_else_is_rejected() {
        for from in ["eve@example.org", "eve@example.org/x", "me@example.org/other-device", "example.org"] {
            let result = unwrap(&carbon(from, "sent"), &own()).unwrap();
            assert!(matches!(result, Err(Rejection::ForeignCarbon { .. })), "{from}: {result:?}");
        }
    }

    #[test]
    fn an_ordinary_message_is_not_a_carbon() {
        let plain = XmppMessage::try_from(
            "<message xmlns='jabber:client' from='bob@example.org/a' type='chat'><body>x</body></message>".parse::<Element>().unwrap(),
        )
        .unwrap();
        assert!(unwrap(&plain, &own()).is_none());
    }
}

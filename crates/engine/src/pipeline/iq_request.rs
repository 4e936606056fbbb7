//! An IQ request built by a pure protocol module, for the session to send and track
//! (`Actor::send_iq(to, set, payload)`; the answer is matched on id, address and type there).

use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqKind {
    Get,
    Set,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IqRequest {
    /// `None`: our own account (PEP, private storage).
    pub to: Option<Jid>,
    pub kind: IqKind,
    pub payload: Element,
}

impl IqRequest {
    pub fn get(to: Option<Jid>, payload: Element) -> Self {
        Self { to, kind: IqKind::Get, payload }
    }

    pub fn set(to: Option<Jid>, payload: Element) -> Self {
        Self { to, kind: IqKind::Set, payload }
    }

    pub fn is_set(&self) -> bool {
        self.kind == IqKind::Set
    }
}

/// A stanza error condition as written on the wire (`not-allowed`), from either that form or the
/// Debug form the session's `EngineError::ServerError` carries (`NotAllowed`, `Gone { .. }`).
pub fn condition_name(condition: &str) -> String {
    let word: String = condition.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let mut name = String::with_capacity(word.len() + 4);
    for (i, c) in word.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_the_same_in_both_forms() {
        assert_eq!(condition_name("NotAllowed"), "not-allowed");
        assert_eq!(condition_name("not-allowed"), "not-allowed");
        assert_eq!(condition_name("Gone { new_address: None }"), "gone");
        assert_eq!(condition_name("Forbidden"), "forbidden");
        assert_eq!(condition_name(""), "");
    }
}

//! Mentions in rooms: XEP-0372 references (`type='mention'`, an `xmpp:` URI, `begin`/`end` as
//! code-point offsets into the body, end exclusive), whether a message mentions us (by reference,
//! or by our nickname as a word of the text), and @-completion of nicknames.

use serde::{Deserialize, Serialize};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;

pub const REFERENCE: &str = "urn:xmpp:reference:0";
/// References beyond this many in one message are ignored.
pub const MAX_REFERENCES: usize = 64;
const MAX_URI_CHARS: usize = 3 * 1024;

/// A mention of someone: `jid` is the referenced account (`me@example.org`) or occupant
/// (`room@service/nick`); the range, when given, marks the text that names them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub jid: String,
    /// Code points from the start of the body; `end` is exclusive.
    pub begin: Option<u32>,
    pub end: Option<u32>,
}

/// The mentions in a message's payloads. References with a range outside the body, a range
/// without both ends, or a URI that is not an XMPP address are dropped.
pub fn mentions(payloads: &[Element], body: &str) -> Vec<Mention> {
    let length = body.chars().count();
    payloads
        .iter()
        .filter(|p| p.is("reference", REFERENCE) && p.attr("type") == Some("mention"))
        .take(MAX_REFERENCES)
        .filter_map(|p| mention(p, length))
        .collect()
}

fn mention(reference: &Element, body_length: usize) -> Option<Mention> {
    let jid = reference.attr("uri").filter(|u| u.len() <= MAX_URI_CHARS).and_then(uri_jid)?;
    let offset = |name: &str| reference.attr(name).map(|v| v.parse::<u32>().ok());
    let (begin, end) = match (offset("begin"), offset("end")) {
        (None, None) => (None, None),
        (Some(Some(begin)), Some(Some(end))) if begin < end && end as usize <= body_length => (Some(begin), Some(end)),
        _ => return None,
    };
    Some(Mention { jid: jid.to_string(), begin, end })
}

/// RFC 5122: `xmpp:node@domain/resource`, percent-encoded, maybe with a `?query`.
fn uri_jid(uri: &str) -> Option<Jid> {
    let address = uri.strip_prefix("xmpp:")?;
    let address = address.split(['?', '#']).next().unwrap_or_default();
    percent_decode(address)?.parse().ok()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// Characters a nickname keeps in an `xmpp:` URI; the rest is percent-encoded (RFC 5122 §2.7).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c) {
            encoded.push(c);
        } else {
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    encoded
}

/// References for the `@nick` mentions of current occupants in an outgoing room message. The
/// longest nickname wins (`@alice` is Alice even when `al` is in the room too); an `@` inside a
/// word (an e-mail address) is no mention.
pub fn references_for(body: &str, room: &BareJid, occupants: &[String]) -> Vec<Element> {
    let chars: Vec<char> = body.chars().collect();
    let mut references = Vec::new();
    for (at, c) in chars.iter().enumerate() {
        if *c != '@' || (at > 0 && is_word_char(chars[at - 1])) {
            continue;
        }
        let mentioned = occupants
            .iter()
            .filter(|nick| !nick.is_empty() && matches_at(&chars, at + 1, nick))
            .max_by_key(|nick| nick.chars().count());
        if let Some(nick) = mentioned {
            let end = at + 1 + nick.chars().count();
            references.push(reference(at, end, &format!("xmpp:{}/{}", room, percent_encode(nick))));
        }
        if references.len() == MAX_REFERENCES {
            break;
        }
    }
    references
}

fn reference(begin: usize, end: usize, uri: &str) -> Element {
    Element::builder("reference", REFERENCE)
        .attr(xml_ncname!("begin").into(), begin.to_string())
        .attr(xml_ncname!("end").into(), end.to_string())
        .attr(xml_ncname!("type").into(), "mention")
        .attr(xml_ncname!("uri").into(), uri)
        .build()
}

/// Whether a room message is for us: a mention of our account or of our nickname, or our
/// nickname as a word of the text (case-insensitive; `al` is not in `also`).
pub fn mentions_me(body: &str, references: &[Mention], own_nick: &str, own_jid: &BareJid) -> bool {
    let referenced = references.iter().filter_map(|m| m.jid.parse::<Jid>().ok()).any(|jid| match jid.resource() {
        None => jid.to_bare() == *own_jid,
        Some(resource) => resource.as_str() == own_nick || jid.to_bare() == *own_jid,
    });
    referenced || contains_word(body, own_nick)
}

/// `word` occurs in `text` with no word character right before or after it (where the word
/// itself begins or ends with one), compared without case.
pub fn contains_word(text: &str, word: &str) -> bool {
    let word_chars: Vec<char> = word.chars().collect();
    let (Some(first), Some(last)) = (word_chars.first(), word_chars.last()) else { return false };
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len()).any(|start| {
        let end = start + word_chars.len();
        let boundary_before = !is_word_char(*first) || start == 0 || !is_word_char(chars[start - 1]);
        let boundary_after = !is_word_char(*last) || chars.get(end).is_none_or(|c| !is_word_char(*c));
        boundary_before && boundary_after && matches_at(&chars, start, word)
    })
}

/// `word` is at `chars[start..]`, without case.
fn matches_at(chars: &[char], start: usize, word: &str) -> bool {
    let mut position = start;
    for expected in word.chars() {
        match chars.get(position) {
            Some(c) if same_letter(*c, expected) => position += 1,
            _ => return false,
        }
    }
    // After the word: no further word character (`@alice` is not `@al`).
    let last = word.chars().last();
    !last.is_some_and(is_word_char) || chars.get(position).is_none_or(|c| !is_word_char(*c))
}

fn same_letter(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Nicknames for @-completion of `prefix` (a leading `@` is ignored), best first: an exact match,
/// then those starting with the prefix as typed, then the rest without case; alphabetical within.
pub fn complete_nick(prefix: &str, occupants: &[String]) -> Vec<String> {
    let prefix = prefix.strip_prefix('@').unwrap_or(prefix);
    let folded = prefix.to_lowercase();
    let mut found: Vec<&String> = occupants.iter().filter(|nick| !nick.is_empty() && nick.to_lowercase().starts_with(&folded)).collect();
    found.sort_by_key(|nick| (nick.as_str() != prefix, !nick.starts_with(prefix), nick.to_lowercase(), nick.as_str()));
    found.dedup();
    found.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> BareJid {
        BareJid::new("juliet@capulet.lit").unwrap()
    }

    fn reference_xml(attrs: &str) -> Element {
        format!("<reference xmlns='urn:xmpp:reference:0' type='mention' {attrs}/>").parse().unwrap()
    }

    fn nicks(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn references_are_read_and_checked_against_the_body() {
        let body = "Hello Juliet, how are you?";
        let payloads = vec![
            // XEP-0372 Example 1.
            reference_xml("begin='6' end='12' uri='xmpp:juliet@capulet.lit'"),
            reference_xml("uri='xmpp:coven@chat.shakespeare.lit/Third%20Witch'"),
            reference_xml("begin='6' end='99' uri='xmpp:juliet@capulet.lit'"),
            reference_xml("begin='12' end='6' uri='xmpp:juliet@capulet.lit'"),
            reference_xml("begin='6' uri='xmpp:juliet@capulet.lit'"),
            reference_xml("begin='-1' end='3' uri='xmpp:juliet@capulet.lit'"),
            reference_xml("begin='0' end='3' uri='https://evil.example/'"),
            reference_xml("begin='0' end='3' uri='xmpp:%ZZ'"),
            "<reference xmlns='urn:xmpp:reference:0' type='data' uri='xmpp:juliet@capulet.lit'/>".parse().unwrap(),
        ];
        let found = mentions(&payloads, body);
        assert_eq!(
            found,
            vec![
                Mention { jid: "juliet@capulet.lit".into(), begin: Some(6), end: Some(12) },
                Mention { jid: "coven@chat.shakespeare.lit/Third Witch".into(), begin: None, end: None },
            ]
        );
    }

    #[test]
    fn offsets_count_code_points_not_bytes() {
        let body = "😀 @Jülie";
        let refs = references_for(body, &BareJid::new("room@muc.lit").unwrap(), &nicks(&["Jülie"]));
        assert_eq!(refs.len(), 1);
        assert_eq!((refs[0].attr("begin"), refs[0].attr("end")), (Some("2"), Some("8")));
        assert_eq!(mentions(&refs, body)[0], Mention { jid: "room@muc.lit/Jülie".into(), begin: Some(2), end: Some(8) });
        // The same range is past the end of a shorter body.
        assert!(mentions(&refs, "😀 @Jül").is_empty());
    }

    #[test]
    fn outgoing_mentions_name_current_occupants_only() {
        let room = BareJid::new("coven@chat.shakespeare.lit").unwrap();
        let occupants = nicks(&["al", "alice", "Third Witch"]);
        let refs = references_for("@alice and @al, mail bob@alice.lit, @Third Witch and @nobody", &room, &occupants);
        let uris: Vec<_> = refs.iter().map(|r| r.attr("uri").unwrap().to_owned()).collect();
        assert_eq!(uris, ["xmpp:coven@chat.shakespeare.lit/alice", "xmpp:coven@chat.shakespeare.lit/al", "xmpp:coven@chat.shakespeare.lit/Third%20Witch"]);
        assert_eq!((refs[0].attr("begin"), refs[0].attr("end")), (Some("0"), Some("6")));
        assert!(references_for("@alicex", &room, &occupants).is_empty(), "no mention inside a longer word");
        let read = mentions(&refs, "@alice and @al, mail bob@alice.lit, @Third Witch and @nobody");
        assert_eq!(read[2].jid, "coven@chat.shakespeare.lit/Third Witch");
    }

    #[test]
    fn our_nickname_as_a_word_mentions_us() {
        let me = own();
        assert!(mentions_me("hey al, look", &[], "al", &me));
        assert!(mentions_me("AL!", &[], "al", &me));
        assert!(mentions_me("@al: ping", &[], "al", &me));
        assert!(!mentions_me("I also think so", &[], "al", &me));
        assert!(!mentions_me("total", &[], "al", &me));
        assert!(!mentions_me("al_bundy", &[], "al", &me));
        assert!(mentions_me("ÉMILIE, tu viens ?", &[], "émilie", &me), "case-insensitive beyond ASCII");
        assert!(!mentions_me("émilies", &[], "émilie", &me));
        assert!(mentions_me("こんにちは 太郎", &[], "太郎", &me));
        assert!(mentions_me("ask Dr. Who", &[], "Dr. Who", &me));
        assert!(!mentions_me("anything", &[], "", &me), "an empty nickname matches nothing");
    }

    #[test]
    fn a_reference_to_us_mentions_us_without_the_nickname_in_the_text() {
        let me = own();
        let by_jid = [Mention { jid: "juliet@capulet.lit".into(), begin: None, end: None }];
        assert!(mentions_me("look at this", &by_jid, "jc", &me));
        let by_nick = [Mention { jid: "room@muc.lit/jc".into(), begin: None, end: None }];
        assert!(mentions_me("look at this", &by_nick, "jc", &me));
        let someone_else = [Mention { jid: "romeo@montague.lit".into(), begin: None, end: None }, Mention { jid: "room@muc.lit/romeo".into(), begin: None, end: None }];
        assert!(!mentions_me("look at this", &someone_else, "jc", &me));
    }

    #[test]
    fn completion_is_case_insensitive_and_sorted_best_first() {
        let occupants = nicks(&["alice", "Al", "albert", "bob", "ALINE", "al", ""]);
        assert_eq!(complete_nick("@al", &occupants), ["al", "albert", "alice", "Al", "ALINE"]);
        assert_eq!(complete_nick("AL", &occupants), ["ALINE", "Al", "al", "albert", "alice"]);
        assert_eq!(complete_nick("", &nicks(&["b", "A"])), ["A", "b"]);
        assert!(complete_nick("zed", &occupants).is_empty());
    }

    #[test]
    fn hostile_references_are_bounded() {
        let many: Vec<Element> = (0..1000).map(|_| reference_xml("uri='xmpp:juliet@capulet.lit'")).collect();
        assert_eq!(mentions(&many, "x").len(), MAX_REFERENCES);
        let long = reference(0, 1, &format!("xmpp:{}@capulet.lit", "a".repeat(10_000)));
        assert!(mentions(&[long], "x").is_empty());
    }
}

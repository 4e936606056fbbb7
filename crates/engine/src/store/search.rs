//! Full-text search over message bodies (FTS5, external content over `messages`).

use rusqlite::params;

use super::messages::{message_from_row, MESSAGE_COLUMNS};
use super::{Store, StoreError};
use crate::types::SearchHit;

/// Most hits one search returns.
pub const MAX_HITS: u32 = 500;

/// Tokens of context the snippet keeps around the match.
const SNIPPET_TOKENS: u32 = 16;

impl Store {
    /// Messages containing every word of `query` (the last one as a prefix), newest first
    /// (by local id, i.e. arrival order), optionally within one conversation.
    ///
    /// `query` is plain text, not FTS syntax: operators and quotes are matched literally (and
    /// punctuation is ignored, as in the index). A query without any word returns no hits.
    pub fn search(
        &self,
        query: &str,
        conversation: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let limit = limit.min(MAX_HITS);
        let Some(fts_query) = fts_query(query) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let conn = self.reader();
        // Driving the join from the index and ordering by its rowid lets FTS5 walk the matches
        // newest first and stop after `limit`, instead of ranking every match.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, \
               snippet(messages_fts, 0, '[', ']', '…', {SNIPPET_TOKENS}) \
             FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid \
             WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR m.conversation = ?2) \
             ORDER BY messages_fts.rowid DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![fts_query, conversation, limit], |row| {
            Ok(SearchHit { message: message_from_row(row, 0)?, snippet: row.get(10)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Turns plain user text into an FTS5 query: every whitespace-separated term becomes a quoted
/// string (quotes doubled), the last one a prefix match, all of them required. Terms without a
/// letter or digit are dropped, since the tokenizer would index nothing for them; `None` when no
/// term is left.
fn fts_query(input: &str) -> Option<String> {
    // Control characters separate terms too: FTS5's parser stops at a NUL inside a string.
    let terms: Vec<&str> = input
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .collect();
    let (last, rest) = terms.split_last()?;
    let mut query = String::with_capacity(input.len() + 4 * terms.len());
    for term in rest {
        push_quoted(&mut query, term);
        query.push(' ');
    }
    push_quoted(&mut query, last);
    query.push('*');
    Some(query)
}

fn push_quoted(query: &mut String, term: &str) {
    query.push('"');
    query.push_str(&term.replace('"', "\"\""));
    query.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_util::{incoming, outgoing};

    const ALICE: &str = "alice@example.org";
    const BOB: &str = "bob@example.org";

    fn bodies(hits: &[SearchHit]) -> Vec<&str> {
        hits.iter().map(|h| h.message.body.as_str()).collect()
    }

    fn sample_store() -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                incoming(ALICE, "Let's meet at the Café tomorrow", 1),
                outgoing(ALICE, "the cafe on Main street?", 2),
                incoming(BOB, "café or tea, whatever", 3),
                incoming(BOB, "meeting notes attached", 4),
                incoming(ALICE, "say \"hello\" to the OR operator NEAR(x) -y ^z a:b", 5),
            ])
            .unwrap();
        store
    }

    #[test]
    fn query_builder_quotes_terms_and_prefixes_the_last() {
        assert_eq!(fts_query("hello world").as_deref(), Some(r#""hello" "world"*"#));
        assert_eq!(fts_query(r#"say "hi""#).as_deref(), Some(r#""say" """hi"""*"#));
        assert_eq!(fts_query("  a\tOR\n b ").as_deref(), Some(r#""a" "OR" "b"*"#));
        assert_eq!(fts_query("x * ^ -"), Some(r#""x"*"#.to_owned()));
        assert_eq!(fts_query("x\u{0}y\u{7}").as_deref(), Some(r#""x" "y"*"#));
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query(" \t\n "), None);
        assert_eq!(fts_query("\" * ^ : ( )"), None);
    }

    #[test]
    fn finds_words_ignoring_case_and_diacritics_newest_first() {
        let store = sample_store();
        let hits = store.search("CAFE", None, 10).unwrap();
        assert_eq!(bodies(&hits), ["café or tea, whatever", "the cafe on Main street?", "Let's meet at the Café tomorrow"]);
    }

    #[test]
    fn last_term_is_a_prefix_and_all_terms_are_required() {
        let store = sample_store();
        assert_eq!(bodies(&store.search("meet", None, 10).unwrap()), ["meeting notes attached", "Let's meet at the Café tomorrow"]);
        assert_eq!(bodies(&store.search("meet tomorrow", None, 10).unwrap()), ["Let's meet at the Café tomorrow"]);
        // Only the last term is a prefix.
        assert!(store.search("mee tomorrow", None, 10).unwrap().is_empty());
        assert!(store.search("meet nonexistent", None, 10).unwrap().is_empty());
    }

    #[test]
    fn search_can_be_limited_to_a_conversation() {
        let store = sample_store();
        assert_eq!(bodies(&store.search("café", Some(ALICE), 10).unwrap()).len(), 2);
        assert_eq!(bodies(&store.search("café", Some(BOB), 10).unwrap()), ["café or tea, whatever"]);
        assert!(store.search("café", Some("nobody@x"), 10).unwrap().is_empty());
    }

    #[test]
    fn limit_is_respected() {
        let store = sample_store();
        assert_eq!(store.search("cafe", None, 1).unwrap().len(), 1);
        assert!(store.search("cafe", None, 0).unwrap().is_empty());
    }

    #[test]
    fn snippet_brackets_the_matches() {
        let store = sample_store();
        let hits = store.search("tea", None, 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, "café or [tea], whatever");
        let long = format!("{} needle {}", "word ".repeat(100), "word ".repeat(100));
        store.insert_messages(&[incoming(BOB, &long, 9)]).unwrap();
        let hit = store.search("needle", None, 10).unwrap().remove(0);
        assert!(hit.snippet.contains("[needle]"), "{}", hit.snippet);
        assert!(hit.snippet.len() < 200 && hit.snippet.contains('…'), "{}", hit.snippet);
    }

    #[test]
    fn operators_in_the_query_are_plain_words() {
        let store = sample_store();
        // Would be boolean OR in FTS syntax and match everything with "hello" or "cafe".
        assert_eq!(bodies(&store.search("hello OR", None, 10).unwrap()).len(), 1);
        assert_eq!(bodies(&store.search("NEAR(x", None, 10).unwrap()).len(), 1);
        assert_eq!(bodies(&store.search("\"hello\"", None, 10).unwrap()).len(), 1);
        assert_eq!(bodies(&store.search("a:b", None, 10).unwrap()).len(), 1);
    }

    #[test]
    fn hostile_queries_never_error() {
        let store = sample_store();
        let long = "a".repeat(10_000);
        let many_terms = "ab ".repeat(5_000);
        let queries = [
            "\"", "\"\"", "*", "**", "NEAR(", "NEAR(a b)", "a OR", "OR", "AND", "NOT", "-x", "^", ":",
            "body:x", "a:", "(", ")", "{", "}", "'", "\\", "+", "a*b", "\u{0}", "x\u{0}y", "é", "日本語",
            "👋", "\u{202e}", "\u{200b}", "a\u{301}", long.as_str(), many_terms.as_str(), "\"a\" OR \"b\"",
            "NEAR(\"a\" \"b\", 2)", "a - b", "^a", "rowid:1", "* OR *", "",
        ];
        for query in queries {
            let result = store.search(query, None, 10);
            assert!(result.is_ok(), "query {:?} failed: {:?}", query.chars().take(40).collect::<String>(), result);
            let result = store.search(query, Some(ALICE), 10);
            assert!(result.is_ok(), "scoped query {:?} failed", query.chars().take(40).collect::<String>());
        }
    }

    #[test]
    fn empty_and_punctuation_queries_find_nothing() {
        let store = sample_store();
        for query in ["", "   ", "\n\t", "\"", "*", "- ^ : ( )", "👋"] {
            assert!(store.search(query, None, 10).unwrap().is_empty(), "{query:?}");
        }
    }

    #[test]
    fn unicode_words_are_searchable() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[incoming(ALICE, "Привет, мир", 1), incoming(ALICE, "naïve façade", 2)])
            .unwrap();
        assert_eq!(bodies(&store.search("мир", None, 10).unwrap()), ["Привет, мир"]);
        assert_eq!(bodies(&store.search("привет", None, 10).unwrap()), ["Привет, мир"]);
        assert_eq!(bodies(&store.search("naive faca", None, 10).unwrap()), ["naïve façade"]);
    }

    #[test]
    fn index_follows_body_edits_and_deletes() {
        let store = sample_store();
        {
            let conn = store.writer();
            conn.execute("UPDATE messages SET body = 'completely different' WHERE body LIKE 'meeting%'", [])
                .unwrap();
            conn.execute("DELETE FROM messages WHERE body LIKE 'café or%'", []).unwrap();
        }
        assert!(store.search("notes", None, 10).unwrap().is_empty());
        assert_eq!(store.search("different", None, 10).unwrap().len(), 1);
        assert_eq!(store.search("cafe", None, 10).unwrap().len(), 2);
        // The index is consistent with its content table.
        store
            .writer()
            .execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)", [])
            .unwrap();
    }

    #[test]
    fn state_updates_do_not_disturb_the_index() {
        let store = sample_store();
        let id = store.search("street", None, 1).unwrap()[0].message.id;
        store.set_state(id, crate::types::DeliveryState::Read).unwrap();
        store.mark_read(ALICE).unwrap();
        let hits = store.search("street", None, 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].message.state, crate::types::DeliveryState::Read);
    }
}

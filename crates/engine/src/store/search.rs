//! Full-text search over message bodies (FTS5, external content over `messages`).

use rusqlite::params;

use super::messages::{local_part, message_from_row, MESSAGE_COLUMNS};
use super::{Store, StoreError};
use crate::types::{SearchHit, SnippetPart};

/// Most hits one search returns.
pub const MAX_HITS: u32 = 500;

/// Tokens of context the snippet keeps around the match.
const SNIPPET_TOKENS: u32 = 16;

/// FTS5's `snippet()` takes time quadratic in the number of matches within one body (a long
/// "lol lol lol …" takes seconds), so longer bodies are marked up with the linear `highlight()`
/// and cut down here instead.
const SNIPPET_MAX_BODY_BYTES: usize = 1024;

/// Characters of context kept on each side of the first match when cutting a long body.
const CONTEXT_CHARS: usize = 60;

/// Match markers for `snippet()` and `highlight()`: Unicode noncharacters, reserved for internal
/// use, so they are practically never in a body (if one is, the snippet merely looks odd).
/// Printable markers such as `[` `]` were confused with the same characters in the text.
const OPEN_MARK: char = '\u{FDD0}';
const CLOSE_MARK: char = '\u{FDD1}';

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
        let Some(terms) = fts_terms(query) else {
            return Ok(Vec::new());
        };
        let fts_query = match conversation {
            Some(jid) => scoped_query(&terms, jid),
            None => format!("body : ({terms})"),
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let conn = self.reader();
        // Driving the join from the index and ordering by its rowid lets FTS5 walk the matches
        // newest first and stop after `limit`, instead of ranking every match. The conversation
        // is always checked here too: the index only narrows the candidates.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, \
               CASE WHEN octet_length(m.body) <= {SNIPPET_MAX_BODY_BYTES} \
                 THEN snippet(messages_fts, 0, char({open}), char({close}), '…', {SNIPPET_TOKENS}) \
                 ELSE highlight(messages_fts, 0, char({open}), char({close})) END, \
               octet_length(m.body) <= {SNIPPET_MAX_BODY_BYTES} \
             FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid \
             WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR m.conversation = ?2) \
             ORDER BY messages_fts.rowid DESC LIMIT ?3",
            open = u32::from(OPEN_MARK),
            close = u32::from(CLOSE_MARK),
        ))?;
        let rows = stmt.query_map(params![fts_query, conversation, limit], |row| {
            let text: String = row.get(12)?;
            let is_snippet: bool = row.get(13)?;
            Ok(SearchHit {
                message: message_from_row(row, 0)?,
                snippet: snippet_parts(&if is_snippet { text } else { cut_highlighted(&text) }),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Turns a body marked up by `highlight()` into a snippet: the text around the first match, cut
/// at word boundaries, with `…` where text was left out; the marks stay (an unclosed one is
/// closed).
fn cut_highlighted(marked: &str) -> String {
    let Some(first) = marked.find(OPEN_MARK) else {
        return marked.chars().take(2 * CONTEXT_CHARS).collect();
    };
    let first_end = marked[first..]
        .find(CLOSE_MARK)
        .map_or(marked.len(), |i| first + i);
    let start = word_start_before(marked, first);
    let end = word_end_after(marked, first_end);

    let mut snippet = String::with_capacity(end - start + 8);
    if start > 0 {
        snippet.push('…');
    }
    let mut open = false;
    for c in marked[start..end].chars() {
        match c {
            OPEN_MARK => {
                open = true;
                snippet.push(OPEN_MARK);
            }
            CLOSE_MARK => {
                open = false;
                snippet.push(CLOSE_MARK);
            }
            c => snippet.push(c),
        }
    }
    if open {
        snippet.push(CLOSE_MARK);
    }
    if end < marked.len() {
        snippet.push('…');
    }
    snippet
}

/// Splits a marked snippet into plain and matched pieces (empty pieces left out).
fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut matched = false;
    for c in marked.chars().chain([OPEN_MARK]) {
        let now_matched = match c {
            OPEN_MARK => true,
            CLOSE_MARK => false,
            c => {
                text.push(c);
                continue;
            }
        };
        if !text.is_empty() {
            parts.push(SnippetPart { text: std::mem::take(&mut text), matched });
        }
        matched = now_matched;
    }
    parts
}

/// A byte offset about [`CONTEXT_CHARS`] characters before `at`, moved forward to the start of
/// a word if there is a space in between.
fn word_start_before(text: &str, at: usize) -> usize {
    let window_start = text[..at]
        .char_indices()
        .rev()
        .nth(CONTEXT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    if window_start == 0 {
        return 0;
    }
    match text[window_start..at].find(char::is_whitespace) {
        Some(space) => {
            let after = window_start + space;
            after + text[after..].chars().next().map_or(0, char::len_utf8)
        }
        None => window_start,
    }
}

/// A byte offset about [`CONTEXT_CHARS`] characters after `at`, moved back to the end of a word
/// if there is a space in between.
fn word_end_after(text: &str, at: usize) -> usize {
    // `at` is the closing mark itself; keep it and the characters after it.
    let window_end = text[at..]
        .char_indices()
        .nth(CONTEXT_CHARS + 1)
        .map_or(text.len(), |(i, _)| at + i);
    if window_end == text.len() {
        return window_end;
    }
    text[at..window_end]
        .rfind(char::is_whitespace)
        .map_or(window_end, |space| at + space)
}

/// Turns plain user text into FTS5 terms: every whitespace-separated term becomes a quoted
/// string (quotes doubled), the last one a prefix match; juxtaposed, they are all required.
/// Terms without a letter or digit are dropped, since the tokenizer would index nothing for
/// them; `None` when no term is left.
fn fts_terms(input: &str) -> Option<String> {
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

/// Restricts `terms` to the body and to rows whose `conversation_key` (the JID's local part,
/// see the schema) contains the local part's tokens as a phrase. The index merely narrows the
/// candidates; the caller checks the conversation exactly. A local part without an ASCII letter
/// or digit might tokenize to nothing, and an empty phrase would match no row, so then the
/// filter is left out.
fn scoped_query(terms: &str, jid: &str) -> String {
    let local = local_part(jid);
    if !local.chars().any(|c| c.is_ascii_alphanumeric()) {
        return format!("body : ({terms})");
    }
    let mut query = format!("body : ({terms}) AND conversation_key : ");
    push_quoted(&mut query, local);
    query
}

fn push_quoted(query: &mut String, term: &str) {
    query.push('"');
    for c in term.chars() {
        match c {
            '"' => query.push_str("\"\""),
            c if c.is_control() => query.push(' '),
            c => query.push(c),
        }
    }
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

    /// Fails unless the index holds exactly what its content table says it should.
    fn integrity_check(store: &Store) -> rusqlite::Result<usize> {
        store.writer().execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
    }

    fn sample_store() -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                incoming(ALICE, "Let's meet at the Café tomorrow", 1),
                outgoing(ALICE, "the cafe on Main street?", 2),
                incoming(BOB, "café or tea, whatever", 3),
                incoming(BOB, "meeting notes attached", 4),
                incoming(
                    ALICE,
                    "say \"hello\" to the OR operator NEAR(x) -y ^z a:b",
                    5,
                ),
            ])
            .unwrap();
        store
    }

    #[test]
    fn query_builder_quotes_terms_and_prefixes_the_last() {
        assert_eq!(
            fts_terms("hello world").as_deref(),
            Some(r#""hello" "world"*"#)
        );
        assert_eq!(
            fts_terms(r#"say "hi""#).as_deref(),
            Some(r#""say" """hi"""*"#)
        );
        assert_eq!(
            fts_terms("  a\tOR\n b ").as_deref(),
            Some(r#""a" "OR" "b"*"#)
        );
        assert_eq!(fts_terms("x * ^ -").as_deref(), Some(r#""x"*"#));
        assert_eq!(fts_terms("x\u{0}y\u{7}").as_deref(), Some(r#""x" "y"*"#));
        assert_eq!(fts_terms(""), None);
        assert_eq!(fts_terms(" \t\n "), None);
        assert_eq!(fts_terms("\" * ^ : ( )"), None);
    }

    #[test]
    fn scoped_query_filters_on_the_local_part() {
        assert_eq!(
            scoped_query(r#""x"*"#, r#"a"b@example.org/res"#),
            r#"body : ("x"*) AND conversation_key : "a""b""#
        );
        assert_eq!(
            scoped_query(r#""x"*"#, "example.org"),
            r#"body : ("x"*) AND conversation_key : "example.org""#
        );
        assert_eq!(
            scoped_query(r#""x"*"#, "\u{0}a@b"),
            r#"body : ("x"*) AND conversation_key : " a""#
        );
        assert_eq!(
            scoped_query(r#""x"*"#, "日本@example.org"),
            r#"body : ("x"*)"#
        );
        assert_eq!(scoped_query(r#""x"*"#, "@example.org"), r#"body : ("x"*)"#);
        assert_eq!(scoped_query(r#""x"*"#, "@/"), r#"body : ("x"*)"#);
    }

    #[test]
    fn scoped_search_is_exact_even_when_jids_share_tokens() {
        let store = Store::open_in_memory().unwrap();
        let jids = [
            ALICE,
            "x.alice@example.org",
            "alice@example.org.evil",
            "alice@elsewhere.net",
            "example.org",
            "@/",
            "日本@例え",
            "日本@example.org",
            "a\u{0}b@example.org",
            "a@b@c",
            "a",
        ];
        let batch: Vec<_> = jids
            .iter()
            .map(|jid| incoming(jid, "tea time", 1))
            .collect();
        store.insert_messages(&batch).unwrap();
        integrity_check(&store).unwrap();
        for jid in jids {
            let hits = store.search("tea", Some(jid), 10).unwrap();
            assert_eq!(hits.len(), 1, "{jid}");
            assert_eq!(hits[0].message.conversation, jid);
        }
        assert_eq!(store.search("tea", None, 50).unwrap().len(), jids.len());
    }

    #[test]
    fn integrity_check_notices_rows_missing_from_the_index() {
        let store = sample_store();
        store
            .writer()
            .execute(
                "INSERT INTO messages (conversation, direction, sender, sender_bare, body, \
                 timestamp, state, conversation_key) \
                 VALUES ('a@x', 'incoming', 'a@x', 'a@x', 'unindexed', 1, 'none', 'a')",
                [],
            )
            .unwrap();
        assert!(
            integrity_check(&store).is_err(),
            "the check must be able to fail"
        );
    }

    #[test]
    fn words_only_match_bodies_not_jids() {
        let store = sample_store();
        assert!(store.search("alice", None, 10).unwrap().is_empty());
        assert!(store.search("example", Some(ALICE), 10).unwrap().is_empty());
    }

    #[test]
    fn finds_words_ignoring_case_and_diacritics_newest_first() {
        let store = sample_store();
        let hits = store.search("CAFE", None, 10).unwrap();
        assert_eq!(
            bodies(&hits),
            [
                "café or tea, whatever",
                "the cafe on Main street?",
                "Let's meet at the Café tomorrow"
            ]
        );
    }

    #[test]
    fn last_term_is_a_prefix_and_all_terms_are_required() {
        let store = sample_store();
        assert_eq!(
            bodies(&store.search("meet", None, 10).unwrap()),
            ["meeting notes attached", "Let's meet at the Café tomorrow"]
        );
        assert_eq!(
            bodies(&store.search("meet tomorrow", None, 10).unwrap()),
            ["Let's meet at the Café tomorrow"]
        );
        // Only the last term is a prefix.
        assert!(store.search("mee tomorrow", None, 10).unwrap().is_empty());
        assert!(store
            .search("meet nonexistent", None, 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn search_can_be_limited_to_a_conversation() {
        let store = sample_store();
        assert_eq!(
            bodies(&store.search("café", Some(ALICE), 10).unwrap()).len(),
            2
        );
        assert_eq!(
            bodies(&store.search("café", Some(BOB), 10).unwrap()),
            ["café or tea, whatever"]
        );
        assert!(store
            .search("café", Some("nobody@x"), 10)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn limit_is_respected() {
        let store = sample_store();
        assert_eq!(store.search("cafe", None, 1).unwrap().len(), 1);
        assert!(store.search("cafe", None, 0).unwrap().is_empty());
    }

    fn part(text: &str, matched: bool) -> SnippetPart {
        SnippetPart { text: text.to_owned(), matched }
    }

    fn matches(hit: &SearchHit) -> Vec<&str> {
        hit.snippet.iter().filter(|p| p.matched).map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn snippet_marks_the_matches() {
        let store = sample_store();
        let hits = store.search("tea", None, 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, [part("café or ", false), part("tea", true), part(", whatever", false)]);
        assert_eq!(hits[0].bracketed_snippet(), "café or [tea], whatever");
        let long = format!("{} needle {}", "word ".repeat(100), "word ".repeat(100));
        store.insert_messages(&[incoming(BOB, &long, 9)]).unwrap();
        let hit = store.search("needle", None, 10).unwrap().remove(0);
        assert_eq!(matches(&hit), ["needle"]);
        let text = hit.bracketed_snippet();
        assert!(text.len() < 200 && text.contains('…'), "{text}");
    }

    #[test]
    fn brackets_in_the_text_are_text_not_matches() {
        let store = Store::open_in_memory().unwrap();
        let body = "<![CDATA[<img src=x onerror=alert(1)>]]> [x] ]]";
        store.insert_messages(&[incoming(BOB, body, 1)]).unwrap();
        let hit = store.search("onerror", None, 10).unwrap().remove(0);
        assert_eq!(matches(&hit), ["onerror"]);
        let text: String = hit.snippet.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, body);
    }

    #[test]
    fn long_bodies_get_a_cut_snippet_around_the_first_match() {
        let store = Store::open_in_memory().unwrap();
        let long = format!(
            "{} needle in [a] haystack {}",
            "hay ".repeat(400),
            "straw ".repeat(400)
        );
        store.insert_messages(&[incoming(BOB, &long, 1)]).unwrap();
        let hit = store.search("needle", None, 10).unwrap().remove(0);
        assert_eq!(matches(&hit), ["needle"]);
        let snippet = hit.bracketed_snippet();
        assert!(
            snippet.starts_with("…hay ") && snippet.ends_with(" straw…"),
            "{snippet}"
        );
        assert!(snippet.contains(" [needle] in [a] haystack "), "{snippet}");
        assert!(snippet.chars().count() < 3 * CONTEXT_CHARS, "{snippet}");
    }

    #[test]
    fn many_matches_in_one_huge_body_get_a_cut_snippet() {
        // snippet() would take seconds here (quadratic in the matches); highlight() is linear.
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[incoming(BOB, &"lol ".repeat(30_000), 1)])
            .unwrap();
        let hits = store.search("lol", None, 10).unwrap();
        let snippet = hits[0].bracketed_snippet();
        assert!(snippet.starts_with("[lol] [lol]"), "{snippet}");
        assert!(snippet.chars().count() < 3 * CONTEXT_CHARS, "{snippet}");
    }

    #[test]
    fn cutting_respects_characters_and_edges() {
        let mark = |s: &str| {
            s.replace('[', &OPEN_MARK.to_string())
                .replace(']', &CLOSE_MARK.to_string())
        };
        let cut = |s: &str| {
            let parts = snippet_parts(&cut_highlighted(&mark(s)));
            parts.iter().map(|p| if p.matched { format!("[{}]", p.text) } else { p.text.clone() }).collect::<String>()
        };
        assert_eq!(cut("[hit] at the start"), "[hit] at the start");
        let wide = format!("{}[ä]{}", "ä".repeat(300), "日".repeat(300));
        let wide_cut = cut(&wide);
        assert!(
            wide_cut.starts_with('…') && wide_cut.ends_with('…') && wide_cut.contains("[ä]"),
            "{wide_cut}"
        );
        assert_eq!(wide_cut.chars().count(), 2 * CONTEXT_CHARS + 5);
        let words = format!("{} [x] {}", "ab ".repeat(100), "cd ".repeat(100));
        let words_cut = cut(&words);
        assert!(words_cut.starts_with("…ab ") && words_cut.ends_with(" cd…"), "{words_cut}");
        assert_eq!(cut("no marks at all"), "no marks at all");
        assert_eq!(cut_highlighted(&mark("[")), mark("[]"));
    }

    #[test]
    fn operators_in_the_query_are_plain_words() {
        let store = sample_store();
        // Would be boolean OR in FTS syntax and match everything with "hello" or "cafe".
        assert_eq!(
            bodies(&store.search("hello OR", None, 10).unwrap()).len(),
            1
        );
        assert_eq!(bodies(&store.search("NEAR(x", None, 10).unwrap()).len(), 1);
        assert_eq!(
            bodies(&store.search("\"hello\"", None, 10).unwrap()).len(),
            1
        );
        assert_eq!(bodies(&store.search("a:b", None, 10).unwrap()).len(), 1);
    }

    #[test]
    fn hostile_queries_never_error() {
        let store = sample_store();
        let long = "a".repeat(10_000);
        let many_terms = "ab ".repeat(5_000);
        let queries = [
            "\"",
            "\"\"",
            "*",
            "**",
            "NEAR(",
            "NEAR(a b)",
            "a OR",
            "OR",
            "AND",
            "NOT",
            "-x",
            "^",
            ":",
            "body:x",
            "a:",
            "(",
            ")",
            "{",
            "}",
            "'",
            "\\",
            "+",
            "a*b",
            "\u{0}",
            "x\u{0}y",
            "é",
            "日本語",
            "👋",
            "\u{202e}",
            "\u{200b}",
            "a\u{301}",
            long.as_str(),
            many_terms.as_str(),
            "\"a\" OR \"b\"",
            "NEAR(\"a\" \"b\", 2)",
            "a - b",
            "^a",
            "rowid:1",
            "* OR *",
            "",
        ];
        for query in queries {
            let result = store.search(query, None, 10);
            assert!(
                result.is_ok(),
                "query {:?} failed: {:?}",
                query.chars().take(40).collect::<String>(),
                result
            );
            let result = store.search(query, Some(ALICE), 10);
            assert!(
                result.is_ok(),
                "scoped query {:?} failed",
                query.chars().take(40).collect::<String>()
            );
        }
    }

    #[test]
    fn empty_and_punctuation_queries_find_nothing() {
        let store = sample_store();
        for query in ["", "   ", "\n\t", "\"", "*", "- ^ : ( )", "👋"] {
            assert!(
                store.search(query, None, 10).unwrap().is_empty(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn unicode_words_are_searchable() {
        let store = Store::open_in_memory().unwrap();
        store
            .insert_messages(&[
                incoming(ALICE, "Привет, мир", 1),
                incoming(ALICE, "naïve façade", 2),
            ])
            .unwrap();
        assert_eq!(
            bodies(&store.search("мир", None, 10).unwrap()),
            ["Привет, мир"]
        );
        assert_eq!(
            bodies(&store.search("привет", None, 10).unwrap()),
            ["Привет, мир"]
        );
        assert_eq!(
            bodies(&store.search("naive faca", None, 10).unwrap()),
            ["naïve façade"]
        );
    }

    #[test]
    fn index_follows_body_edits_and_deletes() {
        let store = sample_store();
        {
            let conn = store.writer();
            conn.execute(
                "UPDATE messages SET body = 'completely different' WHERE body LIKE 'meeting%'",
                [],
            )
            .unwrap();
            conn.execute("DELETE FROM messages WHERE body LIKE 'café or%'", [])
                .unwrap();
        }
        assert!(store.search("notes", None, 10).unwrap().is_empty());
        assert_eq!(store.search("different", None, 10).unwrap().len(), 1);
        assert_eq!(store.search("cafe", None, 10).unwrap().len(), 2);
        integrity_check(&store).unwrap();
    }

    #[test]
    fn state_updates_do_not_disturb_the_index() {
        let store = sample_store();
        let id = store.search("street", None, 1).unwrap()[0].message.id;
        store
            .advance_state(id, crate::types::DeliveryState::Read)
            .unwrap();
        store.mark_read(ALICE).unwrap();
        let hits = store.search("street", None, 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].message.state, crate::types::DeliveryState::Read);
    }
}

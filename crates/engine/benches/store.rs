//! History store benchmark: `cargo bench -p rapport-engine --bench store`.
//!
//! 1. Insert throughput (with deduplication indexes and full-text indexing).
//! 2. Latency of opening a conversation and of full-text search in a 1,000,000-message history.

use std::time::{Duration, Instant};

use rapport_engine::store::Store;
use rapport_engine::types::{DeliveryState, Direction, NewMessage};

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "to", "and", "a", "i", "you", "it", "of", "is", "that", "in", "we", "for", "this", "on",
    "be", "so", "have", "not", "are", "but", "with", "just", "do", "can", "at", "me", "what", "if",
    "was", "ok", "yes", "no", "will", "get", "my", "there", "all", "about", "now", "think", "like",
    "know", "your", "good", "time", "out", "one", "see", "how", "go", "then", "would", "up",
    "they", "when", "tomorrow", "today", "thanks", "sure", "really", "maybe", "lunch", "meeting",
    "later", "please", "work", "home", "call", "back", "need", "still", "right", "great", "thing",
    "day", "week", "night", "morning", "weekend", "sounds", "people", "already", "coffee", "train",
    "office", "problem", "release", "server", "build", "tests", "review", "branch", "deploy",
    "issue", "ticket", "update", "photo", "video", "birthday", "party", "dinner", "movie", "music",
    "book", "weather", "rain", "sunny", "holiday", "flight", "hotel", "ticket", "station", "bike",
    "car", "garden", "kitchen", "recipe", "pasta", "pizza", "salad", "café", "naïve", "résumé",
    "déjà", "vu", "über", "straße", "привет", "спасибо", "日本", "東京", "ありがとう", "😀", "👍", "football",
    "match", "score", "game", "team", "player", "season", "doctor", "appointment", "pharmacy",
    "insurance", "invoice", "payment", "bank", "account", "password", "laptop", "keyboard",
    "monitor", "printer", "battery", "charger", "cable", "router", "network", "wifi", "database",
    "migration", "schema", "index", "query", "latency", "throughput", "benchmark", "compiler",
    "rust", "python", "javascript", "kernel", "driver", "firmware", "telescope", "galaxy",
    "nebula", "quasar", "volcano", "glacier", "canyon", "archipelago", "peninsula", "saxophone",
    "violin", "orchestra", "symphony", "ballet", "sculpture", "museum", "gallery",
];

/// The word searched for in part 2: rare enough to be specific, common enough to have many hits.
const SEARCH_WORD: &str = "orchestra";

/// SplitMix64: tiny, fast, and the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly Zipf-distributed index: a few words are very common, most are rare.
    fn zipf_word(&mut self) -> &'static str {
        let n = WORDS.len() as f64;
        let index = (n.powf(self.unit()) - 1.0) as usize;
        WORDS[index.min(WORDS.len() - 1)]
    }

    fn body(&mut self) -> String {
        let len = 2 + self.below(14) + self.below(8) * self.below(3);
        let mut body = String::new();
        for i in 0..len {
            if i > 0 {
                body.push(if self.below(12) == 0 { ',' } else { ' ' });
                if body.ends_with(',') {
                    body.push(' ');
                }
            }
            body.push_str(self.zipf_word());
        }
        body.push(match self.below(4) {
            0 => '?',
            1 => '!',
            _ => '.',
        });
        body
    }
}

fn message(rng: &mut Rng, seq: u64, conversation: String, timestamp: i64) -> NewMessage {
    let outgoing = rng.below(3) == 0;
    let sender = if outgoing {
        "me@example.org/desktop".to_owned()
    } else {
        format!("{conversation}/phone")
    };
    NewMessage {
        direction: if outgoing {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
        sender,
        body: rng.body(),
        timestamp,
        origin_id: Some(format!("{:016x}-{seq}", rng.next())),
        stanza_id: Some(format!("{:016x}{:08x}", rng.next(), seq)),
        state: if outgoing {
            DeliveryState::Delivered
        } else {
            DeliveryState::None
        },
        conversation,
        stamped_by_author: false,
        remote_id: None,
        markable: false,
        occupant_id: None,
        mentions_me: false,
    }
}

fn contact(n: u64) -> String {
    format!("contact{n:04}@example.org")
}

fn insert_throughput(dir: &std::path::Path) {
    const TOTAL: u64 = 200_000;
    const CONVERSATIONS: u64 = 200;
    const BATCH: usize = 500;
    let store = Store::open(&dir.join("throughput.sqlite3")).expect("open");
    let mut rng = Rng(1);
    let messages: Vec<NewMessage> = (0..TOTAL)
        .map(|seq| {
            let conversation = contact(rng.below(CONVERSATIONS));
            message(
                &mut rng,
                seq,
                conversation,
                1_600_000_000_000 + seq as i64 * 1000,
            )
        })
        .collect();
    let start = Instant::now();
    let cpu_start = cpu_time();
    let mut batch_times = Vec::with_capacity(messages.len() / BATCH + 1);
    for batch in messages.chunks(BATCH) {
        let batch_start = Instant::now();
        store.insert_messages(batch).expect("insert");
        batch_times.push(batch_start.elapsed());
    }
    let elapsed = start.elapsed();
    let cpu = cpu_time()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    println!(
        "store insert: {:.0} msg/s ({TOTAL} messages, {CONVERSATIONS} conversations, batches of {BATCH}, {:.2} s{})",
        TOTAL as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        cpu.map(|cpu| format!(
            "; process CPU {:.2} s = {:.0} msg per CPU-second",
            cpu.as_secs_f64(),
            TOTAL as f64 / cpu.as_secs_f64().max(1e-3)
        ))
        .unwrap_or_default()
    );
    report("insert one batch of 500", batch_times);
}

/// Builds the large history; returns the conversation with 100k messages.
fn build_history(store: &Store) -> String {
    const TOTAL: u64 = 1_000_000;
    const SMALL_CONVERSATIONS: u64 = 999;
    const BIG_SHARE_PERCENT: u64 = 10;
    let big = "big-group-chat@conference.example.org".to_owned();
    let mut rng = Rng(2);
    let start = Instant::now();
    let mut batch = Vec::with_capacity(500);
    let mut timestamp = 1_500_000_000_000_i64;
    let mut search_word_hits = 0u64;
    let mut big_count = 0u64;
    for seq in 0..TOTAL {
        // Exactly 100k messages in the big conversation, the rest spread over the others.
        let conversation = if seq % (100 / BIG_SHARE_PERCENT) == 0 {
            big_count += 1;
            big.clone()
        } else {
            contact(rng.below(SMALL_CONVERSATIONS))
        };
        timestamp += 1 + rng.below(60_000) as i64;
        let msg = message(&mut rng, seq, conversation, timestamp);
        if msg
            .body
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == SEARCH_WORD)
        {
            search_word_hits += 1;
        }
        batch.push(msg);
        if batch.len() == 500 {
            store.insert_messages(&batch).expect("insert");
            batch.clear();
        }
    }
    store.insert_messages(&batch).expect("insert");
    let elapsed = start.elapsed();
    println!(
        "built history: {TOTAL} messages ({big_count} in {big}, rest over {SMALL_CONVERSATIONS} conversations) \
         in {:.1} s ({:.0} msg/s); \"{SEARCH_WORD}\" occurs in {search_word_hits} messages ({:.2}%)",
        elapsed.as_secs_f64(),
        TOTAL as f64 / elapsed.as_secs_f64(),
        search_word_hits as f64 * 100.0 / TOTAL as f64
    );
    big
}

/// User + system CPU time of this process (Linux only; assumes the usual 100 clock ticks/s).
/// Printed next to wall-clock figures because a busy machine distorts those.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    println!(
        "{name}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} runs)",
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*samples.last().expect("samples")),
        samples.len()
    );
}

fn measure<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..runs)
        .map(|i| {
            let start = Instant::now();
            std::hint::black_box(f(i));
            start.elapsed()
        })
        .collect()
}

fn large_history(dir: &std::path::Path) {
    const RUNS: usize = 200;
    let path = dir.join("history.sqlite3");
    let big = build_history(&Store::open(&path).expect("open"));
    // Measure on a freshly opened store, as after an application start.
    let store = Store::open(&path).expect("reopen");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database size: {:.0} MiB", size as f64 / (1024.0 * 1024.0));

    let mut rng = Rng(3);
    let targets: Vec<String> = (0..RUNS)
        .map(|i| {
            if i % 4 == 0 {
                big.clone()
            } else {
                contact(rng.below(999))
            }
        })
        .collect();
    let pages = measure(RUNS, |i| {
        let page = store.history(&targets[i], None, 50).expect("history");
        assert_eq!(page.len(), 50);
        page
    });
    report("open conversation (first page of 50)", pages);

    let older = measure(RUNS, |_| {
        let first = store.history(&big, None, 50).expect("history");
        store
            .history(&big, first.last().map(|m| m.id), 50)
            .expect("history")
    });
    report("open big conversation + next page", older);

    let list = measure(RUNS, |_| store.conversations().expect("conversations"));
    report("conversation list (1000 rows)", list);

    let search = measure(RUNS, |_| {
        let hits = store.search(SEARCH_WORD, None, 50).expect("search");
        assert_eq!(hits.len(), 50);
        hits
    });
    report(&format!("search \"{SEARCH_WORD}\" (limit 50)"), search);

    let two_words = measure(RUNS, |_| {
        store.search("coffee tomor", None, 50).expect("search")
    });
    report("search \"coffee tomor\" (limit 50)", two_words);

    let in_big = measure(RUNS, |_| {
        store.search(SEARCH_WORD, Some(&big), 50).expect("search")
    });
    report(
        &format!("search \"{SEARCH_WORD}\" in the big conversation"),
        in_big,
    );

    let one_letter = measure(RUNS, |_| store.search("o", None, 50).expect("search"));
    report("search \"o\" (one-letter prefix, limit 50)", one_letter);

    let common_in_small = measure(RUNS, |i| {
        store
            .search("the", Some(&targets[i | 1]), 50)
            .expect("search")
    });
    report("search \"the\" in a small conversation", common_in_small);

    let in_small = measure(RUNS, |i| {
        store
            .search(SEARCH_WORD, Some(&targets[i | 1]), 50)
            .expect("search")
    });
    report(
        &format!("search \"{SEARCH_WORD}\" in a small conversation"),
        in_small,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then we only smoke-run.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("store bench: run with `cargo bench -p rapport-engine --bench store`");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    insert_throughput(dir.path());
    large_history(dir.path());
    println!("store bench total: {:.1} s", start.elapsed().as_secs_f64());
}

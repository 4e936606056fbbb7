//! Hostile text from the network is shown as text, never run or parsed as HTML (security rule:
//! message text, nicknames, status messages and roster names are DOM text nodes; CVE-2020-3495,
//! CVE-2018-10994 and friends).
//!
//! Bob sends every vector below as a message (and all of them in one more); Bob and two more
//! contacts carry them in their roster names (given by Alice's roster: the engine has no
//! XEP-0172 nicknames, so the roster name is the name the UI shows) and in their status
//! messages. Every vector would leave a mark if it ran (`window.__xss`, the title "pwned", or an
//! element whose id starts with "xss"). The test asserts none did, that no dangerous element or
//! attribute appeared in the page, that each vector is shown literally, and that a hostile
//! message renders to the same elements as a plain one (Carol's).

use rapport_engine::types::OwnPresence;
use rapport_system_tests::desktop::{built_app, copy_app, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, XmppServer};
use serde_json::{json, Value};

use super::{common::sign_in, e2e_enabled, serial, sign_in_form};

/// Classic XSS vectors; each one marks the page if it runs.
const VECTORS: &[&str] = &[
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "<svg onload=window.__xss=3>",
    "<svg><script>window.__xss=4</script></svg>",
    "<iframe srcdoc=\"<script>parent.__xss=5</script>\"></iframe>",
    "<a href=\"javascript:window.__xss=6\" id=\"xss-6\">click</a>",
    "<div style=\"width:expression(window.__xss=7)\" id=\"xss-7\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=8>",
    "<template><img src=x onerror=window.__xss=9></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=10>\">",
    "\"><img src=x onerror=window.__xss=11>",
    "'><svg onload=window.__xss=12>",
    "&lt;img src=x onerror=window.__xss=13&gt;",
    "&#60;script&#62;window.__xss=14&#60;/script&#62;",
    "{{constructor.constructor('window.__xss=15')()}}",
    "${window.__xss=16}",
    "<body onload=window.__xss=17>",
    "<input autofocus onfocus=window.__xss=18>",
    "<details open ontoggle=window.__xss=19>",
    "<object data=\"javascript:window.__xss=20\"></object>",
    "<embed src=\"javascript:window.__xss=21\">",
    "<form action=\"javascript:window.__xss=22\"><button id=xss-22>go</button></form>",
    "<video><source onerror=window.__xss=23></video>",
    "<audio src=x onerror=window.__xss=24>",
    "<marquee onstart=window.__xss=25>",
    "<style>@import 'javascript:window.__xss=26';</style>",
    "<link rel=stylesheet href=\"javascript:window.__xss=27\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.title='pwned'\">",
    "<base href=\"javascript:window.__xss=29//\">",
    "</textarea><img src=x onerror=window.__xss=30>",
    "</title><script>document.title='pwned'</script>",
    "<!--><img src=x onerror=window.__xss=32>-->",
    "<![CDATA[<img src=x onerror=window.__xss=33>]]>",
    "<x onclick=window.__xss=34 id=xss-34>click me</x>",
    "<b id=\"xss-35\">bold</b>",
    "javascript:window.__xss=36",
    "http://example.com/\"onmouseover=\"window.__xss=37",
    "<a href=\"http://example.com\" onmouseover=\"window.__xss=38\">http://example.com</a>",
    "xmpp:bob@example.com?message;body=\"><img src=x onerror=window.__xss=39>",
    "mailto:a@example.com\"><svg onload=window.__xss=40>",
    "data:text/html,<script>window.__xss=41</script>",
    "<img src=x onerror=&#x77;indow.__xss=42>",
    "<svg><animate onbegin=window.__xss=43 attributeName=x dur=1s>",
    "<scr<script>ipt>window.__xss=44</scr</script>ipt>",
    "<form><math><mtext></form><form><mglyph><svg><mtext><textarea><path id=\"</textarea><img src=x onerror=window.__xss=45>\">",
    "<svg><foreignObject><iframe src=\"javascript:window.__xss=46\"></iframe></foreignObject></svg>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "%3Cscript%3Ewindow.__xss=48%3C/script%3E",
];

/// Bob's roster name and status: short, so that his conversation has room for the log (the
/// long ones are on other contacts, see [`chunks`]).
const BOB_NAME: &str = "Bob <img src=x onerror=window.__xss=100> \"><b id=xss-bob>";
const BOB_STATUS: &str = "<svg onload=window.__xss=101> '\"><iframe src=javascript:window.__xss=102>";

/// Roster names and status messages are cut at 1,024 characters by the engine: the vectors are
/// spread over this many contacts, each with a name and a status of at most 1,000 characters.
fn chunks() -> Vec<String> {
    let mut out: Vec<String> = vec![String::new()];
    for v in VECTORS {
        let last = out.last_mut().unwrap();
        if !last.is_empty() && last.chars().count() + 1 + v.chars().count() > 1000 {
            out.push(String::new());
        }
        let last = out.last_mut().unwrap();
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(v);
    }
    out
}

/// Checks the whole page: `window.__xss`, the title, elements with an "xss" id, `on*`
/// attributes, script-like URLs, and dangerous elements inside the app's regions (sidebar,
/// conversation, dialogs). Returns a list of findings (empty: clean).
const AUDIT: &str = r#"
const found = [];
if (window.__xss !== undefined) found.push('window.__xss = ' + window.__xss);
if (document.title !== arguments[0]) found.push('title changed to ' + JSON.stringify(document.title));
const describe = (e) => e.outerHTML.slice(0, 200);
for (const e of document.querySelectorAll('[id]')) if (/^xss/i.test(e.id)) found.push('marker element: ' + describe(e));
const URL_ATTRS = ['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href', 'poster', 'background', 'codebase'];
for (const e of document.querySelectorAll('*')) {
  for (const a of e.attributes) {
    if (/^on/i.test(a.name)) found.push('event handler attribute ' + a.name + ': ' + describe(e));
    if (URL_ATTRS.includes(a.name.toLowerCase()) && /^\s*(javascript|vbscript|data):/i.test(a.value)) found.push('script URL in ' + a.name + ': ' + describe(e));
  }
  if (e.localName === 'a' && e.hasAttribute('href') && !/^(https?|xmpp|mailto):/i.test(e.getAttribute('href'))) found.push('link with another scheme: ' + describe(e));
}
const BAD = 'script, img, iframe, svg, object, embed, style, math, link, meta, base, template, noscript, video, audio, source, frame, frameset, applet, marquee, details, isindex, keygen, animate, foreignObject, x, body, title';
const regions = [...document.querySelectorAll('nav, main, [role=dialog], [role=alertdialog], [role=log], [role=search]')];
if (!regions.length) found.push('no app regions found');
for (const r of regions) for (const e of r.querySelectorAll(BAD)) found.push('element <' + e.localName + '> in ' + (r.getAttribute('aria-label') || r.localName) + ': ' + describe(e));
// Lists and the log hold no controls of their own but buttons (sidebar rows, switcher entries).
for (const list of document.querySelectorAll('nav ul, [role=listbox]')) for (const e of list.querySelectorAll('form, input, select, textarea, b')) found.push('element <' + e.localName + '> in a list: ' + describe(e));
for (const log of document.querySelectorAll('[role=log]')) for (const e of log.querySelectorAll('form, input, select, textarea, button, b')) found.push('element <' + e.localName + '> in the log: ' + describe(e));
return found;
"#;

/// Scrolls the (possibly virtualised) log from top to bottom and returns every article it
/// showed: {id, label, text, shape}, where shape lists its elements and attribute names (links
/// left out: link detection may wrap URLs).
const COLLECT: &str = r#"
const done = arguments[arguments.length - 1];
const log = document.querySelector('[role=log]');
// The log scrolls itself, or (virtualised) holds the element that does.
const scroller = [log, ...log.querySelectorAll('*')].find((e) => e.scrollHeight > e.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(e).overflowY)) || log;
const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
const shape = (root) => {
  const parts = [];
  const walk = (n) => {
    for (const c of n.children) {
      if (c.localName === 'a') { walk(c); continue; }
      const attrs = [...c.attributes].map((a) => a.name).sort().join(',');
      parts.push('<' + c.localName + '[' + attrs + ']');
      walk(c);
      parts.push('>');
    }
  };
  walk(root);
  return parts.join('');
};
(async () => {
  const seen = new Map();
  const trace = [];
  // Going up right after messages arrived can be undone once by the log following them
  // (virtua settles its scroll to the newest row over a few frames): try again for a while.
  for (let i = 0; i < 100; i++) {
    scroller.scrollTop = 0;
    await frames();
    if (scroller.scrollTop === 0) break;
    trace.push(['back to', scroller.scrollTop]);
  }
  for (let i = 0; i < 500; i++) {
    for (const a of log.querySelectorAll('article')) {
      const id = a.getAttribute('data-message-id') || a.textContent;
      if (!seen.has(id)) seen.set(id, { id, label: a.getAttribute('aria-label') || '', text: a.textContent, shape: shape(a) });
    }
    if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1) break;
    const target = Math.min(scroller.scrollTop + Math.max(40, scroller.clientHeight / 2), scroller.scrollHeight - scroller.clientHeight);
    let tries = 0;
    for (; tries < 50; tries++) {
      scroller.scrollTop = target;
      await frames();
      if (Math.abs(scroller.scrollTop - target) < 50) break;
      trace.push(['moved by itself from', target, 'to', scroller.scrollTop]);
    }
    if (tries === 50) return done({ error: 'the log does not stay where it is scrolled to', trace });
  }
  scroller.scrollTop = scroller.scrollHeight;
  await frames();
  done({ articles: [...seen.values()], trace });
})().catch((e) => done('error: ' + e));
"#;

fn audit(d: &Driver, title: &str, when: &str) {
    d.settle();
    let found = d.execute(AUDIT, json!([title])).unwrap();
    assert_eq!(found, json!([]), "hostile text had an effect ({when})");
}

/// Tries what injected markup would do if it got into the DOM: an inline `<script>`, an inline
/// event handler, `eval` and `Function`. The app's CSP (script-src 'self') must refuse each.
const CSP_PROBE: &str = r#"
const done = arguments[arguments.length - 1];
const script = document.createElement('script');
script.textContent = 'window.__cspInline = 1';
document.head.appendChild(script);
script.remove();
let evalRan = false, functionRan = false;
try { evalRan = eval('1 + 1') === 2; } catch (e) {}
try { functionRan = new Function('return 1')() === 1; } catch (e) {}
const img = document.createElement('img');
img.setAttribute('onerror', 'window.__cspHandler = 1');
img.addEventListener('error', () => {
  img.remove();
  done({ inline: window.__cspInline === 1, handler: window.__cspHandler === 1, eval: evalRan, function: functionRan });
});
img.src = 'data:image/png;base64,bm90IGFuIGltYWdl';
document.body.appendChild(img);
"#;

fn assert_csp_holds(d: &Driver) {
    let ran = d.execute_async(CSP_PROBE, json!([])).unwrap();
    assert_eq!(ran, json!({"inline": false, "handler": false, "eval": false, "function": false}), "the CSP let injected script run");
}

fn collect(d: &Driver) -> Vec<Value> {
    let got = d.execute_async(COLLECT, json!([])).unwrap();
    match &got["articles"] {
        Value::Array(items) => {
            if got["trace"].as_array().is_some_and(|t| !t.is_empty()) {
                eprintln!("e2e: while scrolling through the log: {}", got["trace"]);
            }
            items.clone()
        }
        _ => panic!("collecting the log's articles failed: {got}"),
    }
}

/// The text content of the elements `css` matches (in the page, by a script).
fn texts(d: &Driver, css: &str) -> Vec<String> {
    let v = d.execute("return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent);", json!([css])).unwrap();
    v.as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect()
}

/// Opens the conversation with `jid` from its row in Contacts (the row's button is titled with
/// the address; the name may be anything) and waits for its log.
fn open_conversation(d: &Driver, jid: &str, name: &str) {
    let row = poll(&format!("{jid}'s row in Contacts"), UI_WAIT, || {
        d.find_all("//ul[@aria-label='Contacts']/li//button").into_iter().find(|b| d.attr(b, "title").as_deref() == Some(jid))
    });
    d.click(&row);
    poll(&format!("the conversation with {jid}"), UI_WAIT, || {
        let labels = d.execute("return [...document.querySelectorAll('[role=log]')].map((l) => l.getAttribute('aria-label'));", json!([])).unwrap();
        (labels == json!([format!("Messages with {name}")])).then_some(())
    });
}

/// `check` until it returns true, for at most `timeout`.
fn within(timeout: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits until the app has the message `text` (its conversation row previews it), then for
/// its article in the open log, which follows new messages to the bottom. When it does not
/// follow, that is a failure (in `failures`), and the test scrolls down itself to go on.
fn wait_article(d: &Driver, text: &str, what: &str, failures: &mut Vec<String>) {
    let preview: String = text.chars().take(60).collect();
    poll(&format!("{what} in the conversation's row"), UI_WAIT, || {
        texts(d, "ul[aria-labelledby=conversations-title] > li").iter().any(|t| t.contains(&preview)).then_some(())
    });
    let shown = || texts(d, "[role=log] article").iter().any(|t| t.contains(text));
    if within(std::time::Duration::from_secs(5), shown) {
        return;
    }
    let shot = d.screenshot(&format!("hostile-not-following-{}", failures.len()));
    let place = d.execute("const l = document.querySelector('[role=log]'); return [l.scrollTop, l.clientHeight, l.scrollHeight];", json!([])).unwrap();
    failures.push(format!(
        "the log did not follow new messages down to {what}: [scrollTop, clientHeight, scrollHeight] = {place} (screenshot {})",
        shot.display()
    ));
    let bottom = "const l = document.querySelector('[role=log]'); l.scrollTop = l.scrollHeight; return true;";
    let ok = within(UI_WAIT, || {
        let _ = d.execute(bottom, json!([]));
        shown()
    });
    assert!(ok, "e2e: {what} is not in the log even at its bottom; articles: {:#?}", texts(d, "[role=log] article"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_shown_as_text() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    let started = std::time::Instant::now();
    assert_secret_service();
    let chunks = chunks();
    assert!(VECTORS.len() >= 30 && chunks.len() >= 2, "{} vectors in {} chunks", VECTORS.len(), chunks.len());
    let all_in_one = VECTORS.join(" ");

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let carol = server.create_user("carol");
    // Bob, and more hostile contacts whose name and status hold one chunk of vectors each.
    let names: Vec<String> = [BOB_NAME.to_owned()].into_iter().chain(chunks.iter().cloned()).collect();
    let statuses: Vec<String> = [BOB_STATUS.to_owned()].into_iter().chain(chunks.iter().cloned()).collect();
    let hostile: Vec<_> = (0..names.len()).map(|i| server.create_user(&format!("bob{i}x"))).collect();
    let mut roster: Vec<RosterItem> = hostile.iter().zip(&names).map(|(u, name)| RosterItem::new(&u.jid).name(name.as_str())).collect();
    roster.push(RosterItem::new(&carol.jid).name("Carol"));
    server.set_roster(&alice, &roster);
    for u in hostile.iter().chain([&carol]) {
        server.set_roster(u, &[RosterItem::new(&alice.jid).name("Alice")]);
    }
    let mut peers = Vec::new();
    for (u, status) in hostile.iter().zip(&statuses) {
        let p = sign_in(&server, u).await;
        p.session.set_presence(OwnPresence::Available, Some(status)).await.unwrap();
        peers.push(p);
    }
    let c = sign_in(&server, &carol).await;
    let bob = &hostile[0];
    let bob_name = BOB_NAME;
    let mut failures: Vec<String> = Vec::new();

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        let title = d.execute("return document.title;", json!([])).unwrap().as_str().unwrap_or_default().to_owned();
        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.wait("Carol online in Contacts", "//ul[@aria-label='Contacts']/li[@aria-label='Carol']//*[@role='img' and @aria-label='Available']");
        // Every hostile contact listed with its name and status, as text.
        poll("hostile contacts online with their status", UI_WAIT, || {
            let rows = d.execute(
                "return [...document.querySelectorAll('ul[aria-label=Contacts] > li')].map((li) => [li.getAttribute('aria-label'), li.textContent]);",
                json!([]),
            )
            .unwrap();
            let rows = rows.as_array().cloned().unwrap_or_default();
            let listed = |name: &String, status: &String| {
                rows.iter().any(|r| {
                    r[0] == json!(name)
                        && r[1].as_str().is_some_and(|t| if name == status { t.matches(name.as_str()).count() >= 2 } else { t.contains(name.as_str()) && t.contains(status.as_str()) })
                })
            };
            names.iter().zip(&statuses).all(|(n, s)| listed(n, s)).then_some(())
        });
        audit(&d, &title, "contacts with hostile names and statuses");
        assert_csp_holds(&d);
        d.click(&d.wait("Carol's row", "//ul[@aria-label='Contacts']/li[@aria-label='Carol']//button"));
        d.wait("Carol's conversation", "//*[@role='log' and @aria-label='Messages with Carol']");
        (d, title)
    });
    let (d, title) = d;

    // Carol: as many plain messages as Bob sends hostile ones.
    let count = VECTORS.len() + 1;
    for i in 0..count {
        c.session.send_message(&alice.jid, &format!("Plain message number {i}")).await.unwrap();
    }
    let plain = tokio::task::block_in_place(|| {
        wait_article(&d, &format!("Plain message number {}", count - 1), "Carol's last message", &mut failures);
        collect(&d)
    });
    assert_eq!(plain.len(), count, "Carol's log: {plain:#?}");
    let plain_shape = plain[0]["shape"].clone();
    assert!(plain.iter().all(|a| a["shape"] == plain_shape), "plain messages render differently: {plain:#?}");

    // A contact with a long hostile name and status: shown literally, and the conversation
    // still has room for its messages (the header does not take the window).
    tokio::task::block_in_place(|| {
        open_conversation(&d, &hostile[1].jid, &names[1]);
        d.settle();
        let header = texts(&d, "main header h2");
        assert_eq!(header, vec![names[1].clone()], "conversation header of a long hostile name");
        let about = texts(&d, "main header p");
        assert!(about.iter().any(|t| t.contains(&statuses[1])), "long status not shown literally in the header: {about:?}");
        audit(&d, &title, "conversation of a contact with a long hostile name");
        let layout = d
            .execute(
                "const log = document.querySelector('[role=log]'); const page = document.scrollingElement; \
                 return [log.getBoundingClientRect().height, page.scrollHeight, window.innerHeight];",
                json!([]),
            )
            .unwrap();
        let (log_height, page_height, window_height) = (layout[0].as_f64().unwrap_or(0.0), layout[1].as_f64().unwrap_or(0.0), layout[2].as_f64().unwrap_or(0.0));
        if log_height < window_height / 4.0 || page_height > window_height + 1.0 {
            let shot = d.screenshot("23-hostile-long-name-FAILED");
            failures.push(format!(
                "a contact's long name/status (1,000 characters) crowds out the message log: log {log_height} px high, page {page_height} px in a {window_height} px window (screenshot {})",
                shot.display()
            ));
        } else {
            d.screenshot("23-hostile-long-name");
        }
    });

    // Bob's conversation open; then every vector in a message of its own, and all in one.
    tokio::task::block_in_place(|| {
        open_conversation(&d, &bob.jid, bob_name);
    });
    let b = &peers[0];
    for v in VECTORS {
        b.session.send_message(&alice.jid, v).await.unwrap();
    }
    b.session.send_message(&alice.jid, &all_in_one).await.unwrap();
    tokio::task::block_in_place(|| {
        wait_article(&d, &all_in_one, "Bob's last message (all vectors in one)", &mut failures);
        // One own message too (typed, through the composer).
        let composer = d.wait("Message textbox", "//textarea[@aria-label='Message']");
        d.type_text(&composer, "<img src=x onerror=window.__xss=99> own\u{E007}");
        poll("own hostile message in the log", UI_WAIT, || {
            texts(&d, "[role=log] article").iter().any(|t| t.contains("<img src=x onerror=window.__xss=99> own")).then_some(())
        });
        audit(&d, &title, "Bob's conversation");
        d.screenshot("20-hostile-conversation");

        let articles = collect(&d);
        let incoming: Vec<&Value> = articles.iter().filter(|a| !a["label"].as_str().unwrap_or_default().starts_with("You,")).collect();
        assert_eq!(incoming.len(), count, "one article per message from Bob: {articles:#?}");
        for a in &incoming {
            assert_eq!(a["shape"], plain_shape, "a hostile message renders other elements than a plain one: {a:#}");
            assert!(a["label"].as_str().unwrap_or_default().starts_with(&format!("{bob_name}, ")), "article label: {a:#}");
        }
        for v in VECTORS.iter().copied().chain([all_in_one.as_str()]) {
            let shown = incoming.iter().filter(|a| a["text"].as_str().unwrap_or_default().contains(v)).count();
            assert!(shown >= 1, "not shown literally: {v:?}");
        }
        assert_eq!(articles.len(), count + 1, "Bob's log has other articles than his messages and the own one");

        // The conversation header: the name and the status, as text.
        let header = texts(&d, "main header h2");
        assert_eq!(header, vec![bob_name.to_owned()], "conversation header");
        let about = texts(&d, "main header p");
        assert!(about.iter().any(|t| t.contains(BOB_STATUS)), "status not shown literally in the header: {about:?}");
        // The sidebar's conversation row: the name and the last message's preview.
        let rows = d.execute(
            "return [...document.querySelectorAll('ul[aria-labelledby=conversations-title] > li')].map((li) => [li.getAttribute('aria-label'), li.textContent]);",
            json!([]),
        )
        .unwrap();
        assert!(
            rows.as_array().into_iter().flatten().any(|r| r[0] == json!(bob_name) && r[1].as_str().is_some_and(|t| t.contains(bob_name))),
            "Bob's conversation row: {rows}"
        );

        // The quick switcher lists the hostile names as text.
        d.type_text(&composer, "\u{E009}k\u{E000}");
        let switcher = "//*[@role='dialog' and @aria-label='Jump to conversation']";
        d.wait("quick switcher", switcher);
        let options = texts(&d, "[role=dialog] [role=option]");
        for name in &names {
            assert!(options.iter().any(|o| o.contains(name.as_str())), "quick switcher does not show {name:?}: {options:?}");
        }
        audit(&d, &title, "quick switcher");
        d.screenshot("21-hostile-quick-switcher");
        d.type_text(&d.wait("Jump to", &format!("{switcher}//input[@aria-label='Jump to']")), "\u{E00C}");
        poll("quick switcher closed", UI_WAIT, || d.find_all(switcher).is_empty().then_some(()));

        // Search: the snippets are text with only the match highlighted.
        let search = d.wait("Search messages field", "//*[@role='search']//input[@aria-label='Search messages']");
        d.fill(&search, "onerror");
        d.type_text(&search, "\u{E007}");
        d.wait("search hits", "//ul[@aria-label='Search results']/li[.//mark]");
        // Every hit highlights the word and nothing else (brackets in the text, as in
        // "<![CDATA[<img", stay text).
        let hits = d
            .execute(
                "return [...document.querySelectorAll('ul[aria-label=\"Search results\"] > li')].map((li) => [li.textContent, [...li.querySelectorAll('mark')].map((m) => m.textContent)]);",
                json!([]),
            )
            .unwrap();
        let hits = hits.as_array().cloned().unwrap_or_default();
        // Each vector with the word, all of them in one, and the own message.
        let expected = VECTORS.iter().filter(|v| v.contains("onerror")).count() + 2;
        assert_eq!(hits.len(), expected, "search for 'onerror': {hits:#?}");
        for hit in &hits {
            let marks = hit[1].as_array().cloned().unwrap_or_default();
            assert!(!marks.is_empty(), "hit without a highlight: {hit}");
            assert!(marks.iter().all(|m| m.as_str().is_some_and(|m| m.eq_ignore_ascii_case("onerror"))), "a highlight other than 'onerror': {hit}");
            assert!(hit[0].as_str().is_some_and(|t| t.contains(bob_name)), "hit without the conversation's name: {hit}");
        }
        audit(&d, &title, "search results");
        d.screenshot("22-hostile-search");
        d.click(&d.wait("Close search button", "//button[normalize-space()='Close search']"));
        env.quit(d);
    });
    for p in peers {
        p.session.disconnect().await;
    }
    c.session.disconnect().await;
    assert!(failures.is_empty(), "e2e: {} failure(s):\n{}", failures.len(), failures.join("\n"));
    eprintln!("e2e: hostile text passed in {:.1?}", started.elapsed());
}

// Finds links in message text (linkifyjs's tokenizer) and keeps only the schemes Rapport opens.
// The result is plain pieces of text; components render them as text nodes and <a> elements,
// never as HTML. src-tauri's `open_link` checks the scheme again before anything is opened.

import { find, registerCustomProtocol } from 'linkifyjs';

/** The schemes a link may have (the same list as `LINK_SCHEMES` in src-tauri/src/commands.rs). */
export const LINK_SCHEMES = ['http:', 'https:', 'xmpp:', 'mailto:'] as const;

// `xmpp:bob@example.org` has no `//`.
registerCustomProtocol('xmpp', true);

export type TextPiece = { text: string; href?: undefined } | { text: string; href: string };

/** The normalised URL when `href` is an allowed link, else null. */
export function allowedLink(href: string): string | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (!(LINK_SCHEMES as readonly string[]).includes(url.protocol)) return null;
  if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.hostname) return null;
  if ((url.protocol === 'xmpp:' || url.protocol === 'mailto:') && !url.pathname.trim()) return null;
  return url.href;
}

/** Splits `text` into plain pieces and links (http, https, xmpp, mailto; bare domains become
 * http, e-mail addresses mailto). Anything else, `javascript:` or `file:` included, stays text. */
export function linkPieces(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let at = 0;
  const push = (piece: string) => {
    if (!piece) return;
    const last = pieces[pieces.length - 1];
    if (last && last.href === undefined) last.text += piece;
    else pieces.push({ text: piece });
  };
  for (const link of find(text)) {
    const href = link.isLink ? allowedLink(link.href) : null;
    push(text.slice(at, link.start));
    if (href) pieces.push({ text: text.slice(link.start, link.end), href });
    else push(text.slice(link.start, link.end));
    at = link.end;
  }
  push(text.slice(at));
  return pieces;
}

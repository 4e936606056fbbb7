// @-completion of occupants' nicks in a room's composer: where the `@word` being typed is, and
// what the text becomes when a nick is chosen. The nicks themselves come from the engine
// (`complete_nick`), the one place of the matching rules.

/** Most nicks offered at once. */
export const MAX_COMPLETIONS = 8;

/** The `@prefix` just before the caret (at the start or after a space), or null. The prefix
 * has at least one character. */
export function mentionAt(text: string, caret: number): { start: number; prefix: string } | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)@([^\s@]+)$/u.exec(before);
  if (!match) return null;
  return { start: before.length - match[2].length - 1, prefix: match[2] };
}

/** The text with the `@word` at `start` (up to the caret, and the rest of the word after it)
 * replaced by `@nick ` (no added space before a space or punctuation), and the new caret. */
export function insertMention(text: string, start: number, caret: number, nick: string): { text: string; caret: number } {
  const rest = text.slice(caret).replace(/^[\p{L}\p{N}_-]+/u, '');
  const head = text.slice(0, start) + `@${nick}`;
  if (/^\s/u.test(rest)) return { text: head + rest, caret: head.length + 1 };
  if (/^\p{P}/u.test(rest)) return { text: head + rest, caret: head.length };
  return { text: `${head} ${rest}`, caret: head.length + 1 };
}

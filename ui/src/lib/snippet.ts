// Search snippets mark matches with `[` `]` (plain text). They are split into pieces that the
// components render as text nodes, the matches inside <mark> — never as an HTML string.

export interface SnippetPiece {
  text: string;
  match: boolean;
}

/** Splits a snippet on its markers: text outside `[` `]` is plain, text inside is a match. */
export function snippetPieces(snippet: string): SnippetPiece[] {
  const pieces: SnippetPiece[] = [];
  let match = false;
  for (const text of snippet.split(/([[\]])/)) {
    if (text === '[') match = true;
    else if (text === ']') match = false;
    else if (text) pieces.push({ text, match });
  }
  return pieces;
}

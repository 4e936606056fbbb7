// The rows of a conversation's virtualised log: "Start of the conversation" first (when no older
// page is left), then one row per message with its day separator when the day changes.
// Built incrementally: messages are immutable and the store only appends (new messages), prepends
// (older pages) or replaces one (a delivery update), so a new history reuses the row objects of
// the previous one and works out days only for what is new: a batch costs what it adds (plus a
// pointer comparison per loaded message), and virtua gets the same keyed objects again.

import type { Message } from './bindings';
import { dayKey, dayLabel } from './format';

export type MessageRow = { kind: 'message'; key: string; message: Message; day: string | null; dayKey: string };
export type Row = { kind: 'start'; key: string } | MessageRow;

const START: Row = { kind: 'start', key: 'start' };

export interface HistoryRows {
  /** The history these rows show. */
  messages: readonly Message[];
  start: boolean;
  rows: Row[];
}

function row(m: Message, previousDay: string, key = dayKey(m.timestamp)): MessageRow {
  return { kind: 'message', key: `m-${m.id}`, message: m, day: key !== previousDay ? dayLabel(m.timestamp) : null, dayKey: key };
}

/** Adds the rows of `messages[from..to]` to `out`, after a row of the day `previousDay`. */
function appendRows(out: Row[], messages: readonly Message[], from: number, previousDay: string, to = messages.length): void {
  let last = previousDay;
  for (let i = from; i < to; i++) {
    const r = row(messages[i], last);
    out.push(r);
    last = r.dayKey;
  }
}

function full(messages: readonly Message[], start: boolean): HistoryRows {
  const rows: Row[] = start && messages.length ? [START] : [];
  appendRows(rows, messages, 0, '');
  return { messages, start, rows };
}

/** The rows of `messages`, reusing those of `previous` where the messages are the same. */
export function historyRows(previous: HistoryRows | null, messages: readonly Message[], start: boolean): HistoryRows {
  start = start && messages.length > 0;
  const old = previous?.messages;
  if (!previous || !old || !old.length || !messages.length) return full(messages, start);
  if (old === messages && previous.start === start) return previous;
  const offset = previous.start ? 1 : 0;

  // Appended (and maybe some replaced): the old messages are the new history's head.
  if (messages.length >= old.length && sameIds(old, messages, 0)) {
    const rows = previous.rows.slice(offset);
    if (!replace(rows, old, messages, 0)) return full(messages, start);
    const lastDay = (rows[rows.length - 1] as MessageRow).dayKey;
    appendRows(rows, messages, old.length, lastDay);
    if (start) rows.unshift(START);
    return { messages, start, rows };
  }

  // Prepended (an older page): the old messages are the new history's tail.
  const at = messages.length - old.length;
  if (at > 0 && sameIds(old, messages, at)) {
    const head: Row[] = start ? [START] : [];
    appendRows(head, messages, 0, '', at);
    // Only the first old row's separator can change (its day may now continue the page's).
    const tail = previous.rows.slice(offset);
    if (!replace(tail, old, messages, at)) return full(messages, start);
    const first = tail[0] as MessageRow;
    const headDay = (head[head.length - 1] as MessageRow).dayKey;
    if ((first.day !== null) !== (first.dayKey !== headDay)) tail[0] = row(first.message, headDay, first.dayKey);
    return { messages, start, rows: head.concat(tail) };
  }
  return full(messages, start);
}

/** Whether `old`'s ids are those of `messages` from `at` on (the ends and the length: the store
 * never reorders, so matching ends mean the same run). */
function sameIds(old: readonly Message[], messages: readonly Message[], at: number): boolean {
  return messages[at].id === old[0].id && messages[at + old.length - 1].id === old[old.length - 1].id;
}

/** Replaces the rows (`rows[i]` for `old[i]`) of messages that are new objects in `messages`
 * (from `at`); false when one is not the same message any more. */
function replace(rows: Row[], old: readonly Message[], messages: readonly Message[], at: number): boolean {
  for (let i = 0; i < old.length; i++) {
    const m = messages[at + i];
    if (m === old[i]) continue;
    const r = rows[i] as MessageRow;
    if (m.id !== old[i].id || m.timestamp !== old[i].timestamp) return false;
    rows[i] = { ...r, message: m };
  }
  return true;
}

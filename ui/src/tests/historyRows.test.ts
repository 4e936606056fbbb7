import { describe, expect, it } from 'vitest';
import type { Message } from '../lib/bindings';
import { historyRows, type MessageRow, type Row } from '../lib/historyRows';
import { message } from './fixtures';

const BOB = 'bob@localhost';
const DAY = 86_400_000;
const T0 = new Date(2026, 0, 10, 12).getTime();

const msgs = (from: number, to: number, at = (i: number) => T0 + i * 60_000) =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i, BOB, `m${from + i}`, at(from + i)));

/** The rows built from scratch, for comparison. */
const plain = (rows: Row[]) => rows.map((r) => (r.kind === 'start' ? 'start' : `${r.message.id}:${r.day ?? ''}`));

describe('history rows are built incrementally', () => {
  it('appending keeps the old row objects and adds rows for the new messages only', () => {
    const first = msgs(1, 100);
    const a = historyRows(null, first, true);
    expect(a.rows).toHaveLength(101);
    const more = [...first, ...msgs(101, 150, (i) => T0 + DAY + i)];
    const b = historyRows(a, more, true);
    expect(b.rows).toHaveLength(151);
    for (let i = 0; i <= 100; i++) expect(b.rows[i]).toBe(a.rows[i]);
    expect(plain(b.rows)).toEqual(plain(historyRows(null, more, true).rows));
    // The new day starts a separator on its first message only.
    expect((b.rows[101] as MessageRow).day).not.toBeNull();
    expect((b.rows[102] as MessageRow).day).toBeNull();
  });

  it('a replaced message (a delivery update) gets a new row; the others stay', () => {
    const first = msgs(1, 10);
    const a = historyRows(null, first, false);
    const updated = first.slice();
    updated[4] = { ...updated[4], state: 'read' };
    const b = historyRows(a, [...updated, ...msgs(11, 12)], false);
    expect(b.rows[4]).not.toBe(a.rows[4]);
    expect((b.rows[4] as MessageRow).message.state).toBe('read');
    expect(b.rows[3]).toBe(a.rows[3]);
    expect(b.rows).toHaveLength(12);
  });

  it('prepending an older page keeps the old rows, fixing the first old separator', () => {
    const latest = msgs(51, 100);
    const a = historyRows(null, latest, false);
    expect((a.rows[0] as MessageRow).day).not.toBeNull();
    const all = [...msgs(1, 50), ...latest];
    const b = historyRows(a, all, true);
    expect(plain(b.rows)).toEqual(plain(historyRows(null, all, true).rows));
    expect(b.rows[0].kind).toBe('start');
    // Same day as the page before it: no separator any more, so a new row; the rest are kept.
    expect((b.rows[51] as MessageRow).day).toBeNull();
    for (let i = 52; i <= 100; i++) expect(b.rows[i]).toBe(a.rows[i - 51]);
  });

  it('anything else (another conversation, a reload) is built afresh', () => {
    const a = historyRows(null, msgs(1, 10), false);
    const other: Message[] = msgs(200, 205);
    expect(plain(historyRows(a, other, false).rows)).toEqual(plain(historyRows(null, other, false).rows));
    expect(historyRows(a, [], false).rows).toEqual([]);
    // The start row comes and goes with `start`.
    expect(historyRows(a, a.messages, true).rows[0].kind).toBe('start');
  });
});

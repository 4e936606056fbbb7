import { flushSync } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppStore, BURST_INTERVAL, nextFrame, PAGE, type Schedule } from '../lib/app.svelte';
import type { Message } from '../lib/bindings';
import { MockBackend } from '../lib/mockBackend';
import { flush, message, roster } from './fixtures';

const BOB = 'bob@localhost';

/** A store whose event batches run only when the test lets a frame pass. */
async function withFrames(messages: Message[] = []) {
  const frames: (() => void)[] = [];
  const schedule: Schedule = (work) => frames.push(work);
  const backend = new MockBackend({ signedInAs: 'alice@localhost', roster, messages });
  const store = new AppStore(backend, { schedule });
  await store.start();
  await flush();
  const frame = () => {
    for (const work of frames.splice(0)) work();
    flushSync();
  };
  return { backend, store, frame, frames };
}

/** Counts the updates of `read()` as a component would see them. */
function watch(read: () => unknown) {
  let updates = 0;
  const stop = $effect.root(() => {
    $effect(() => {
      read();
      updates++;
    });
  });
  flushSync();
  return { updates: () => updates - 1, stop };
}

describe('engine events are applied per frame', () => {
  it('5,000 messages sent as 5,000 events show in one update, in order, without duplicates', async () => {
    const { backend, store, frame, frames } = await withFrames([message(1, BOB, 'hello', 1000)]);
    await store.select(BOB);
    frame();
    await flush();
    const history = watch(() => store.messages[BOB]);
    const list = watch(() => store.conversationRows);

    const sent: Message[] = [];
    for (let i = 0; i < 5000; i++) sent.push(backend.receive(BOB, `burst ${i}`, 2000 + i));
    // A duplicate (a repeated event) and one already shown change nothing.
    backend.emit({ type: 'messages_received', messages: [sent[10], sent[4999]], catch_up: false });
    expect(frames).toHaveLength(1);
    expect(store.messages[BOB]).toHaveLength(1);

    frame();
    expect(history.updates()).toBe(1);
    expect(list.updates()).toBe(1);
    const shown = store.messages[BOB];
    expect(shown).toHaveLength(5001);
    expect(shown.slice(1).map((m) => m.id)).toEqual(sent.map((m) => m.id));
    expect(store.conversations[BOB].last_message?.body).toBe('burst 4999');

    // markRead once for the batch (not per event), and once more at most for what came after.
    await flush();
    frame();
    await flush();
    const marks = backend.calls.filter((c) => c.command === 'markRead');
    expect(marks.length).toBeGreaterThanOrEqual(1);
    expect(marks.length).toBeLessThanOrEqual(2);
    expect(store.conversations[BOB].unread).toBe(0);
    history.stop();
    list.stop();
  });

  it('a delivery update before its message applies when the message comes, in the same batch', async () => {
    const { backend, store, frame } = await withFrames();
    await store.select(BOB);
    frame();
    const sent = { ...message(77, BOB, 'mine', 5000, true), state: 'pending' as const };
    backend.emit({ type: 'message_updated', id: 77, conversation: BOB, state: 'sent' });
    backend.emit({ type: 'message_sent', message: sent });
    backend.emit({ type: 'message_updated', id: 77, conversation: BOB, state: 'delivered' });
    frame();
    expect(store.messages[BOB].map((m) => [m.id, m.state])).toEqual([[77, 'delivered']]);
  });

  it('keeps loaded history and incoming messages apart from older pages (no duplicates)', async () => {
    const history = Array.from({ length: PAGE * 2 }, (_, i) => message(i + 1, BOB, `m${i + 1}`, 1000 + i));
    const { backend, store, frame } = await withFrames(history);
    await store.select(BOB);
    backend.receive(BOB, 'new', 9999);
    frame();
    expect(await store.loadOlder(BOB)).toBe(PAGE);
    backend.emit({ type: 'messages_received', messages: [history[0], history[PAGE * 2 - 1]], catch_up: false });
    frame();
    const ids = store.messages[BOB].map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(PAGE * 2 + 1);
    expect(store.messages[BOB].at(-1)?.body).toBe('new');
  });
});

describe('nextFrame', () => {
  afterEach(() => vi.useRealTimers());

  it('runs work at most every BURST_INTERVAL ms while events keep coming', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'requestAnimationFrame', 'performance'] });
    vi.advanceTimersByTime(1000);
    const runs: number[] = [];
    nextFrame(() => runs.push(performance.now()));
    vi.advanceTimersByTime(20);
    expect(runs).toHaveLength(1);
    nextFrame(() => runs.push(performance.now()));
    vi.advanceTimersByTime(BURST_INTERVAL - 40);
    expect(runs).toHaveLength(1);
    vi.advanceTimersByTime(40 + 20);
    expect(runs).toHaveLength(2);
    expect(runs[1] - runs[0]).toBeGreaterThanOrEqual(BURST_INTERVAL);
    // After a quiet spell, the next frame again.
    vi.advanceTimersByTime(500);
    const quiet = performance.now();
    nextFrame(() => runs.push(performance.now()));
    vi.advanceTimersByTime(20);
    expect(runs).toHaveLength(3);
    expect(runs[2] - quiet).toBeLessThan(20);
  });
});

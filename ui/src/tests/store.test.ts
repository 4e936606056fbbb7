import { describe, expect, it } from 'vitest';
import { AppStore, PAGE, displayName } from '../lib/app.svelte';
import { MockBackend } from '../lib/mockBackend';
import { flush, message, roster, signedIn } from './fixtures';

describe('AppStore', () => {
  it('keeps a wrong password in the status for the form, then signs in and loads the roster', async () => {
    const backend = new MockBackend({ password: 'right', roster });
    const store = new AppStore(backend);
    await store.start();
    expect(store.phase).toBe('signed_out');

    const request = { jid: 'alice@localhost', password: 'wrong', remember: true, host: null, port: null, direct_tls: false, ca_file: null };
    const error = await store.signIn(request);
    expect(error?.code).toBe('wrong_password');
    expect(store.status?.error?.code).toBe('wrong_password');
    expect(store.phase).toBe('signed_out');

    expect(await store.signIn({ ...request, password: 'right' })).toBeNull();
    await flush();
    expect(store.phase).toBe('signed_in');
    expect(store.contactRows.map((c) => c.name)).toEqual(['Bob', 'Carol', 'dave']);
  });

  it('asks about an untrusted certificate and signs in after trusting it', async () => {
    const backend = new MockBackend({ untrustedFingerprint: 'AB:CD', roster });
    const store = new AppStore(backend);
    await store.start();
    const request = { jid: 'alice@localhost', password: 'secret', remember: false, host: null, port: null, direct_tls: false, ca_file: null };
    const error = await store.signIn(request);
    expect(error?.code).toBe('untrusted_certificate');
    expect(await store.trustCertificate('AB:CD')).toBeNull();
    expect(store.phase).toBe('signed_in');
  });

  it('sorts conversations by activity and counts unread messages', async () => {
    const { backend, store } = await signedIn({
      messages: [message(1, 'bob@localhost', 'old', 1000), message(2, 'carol@localhost', 'newer', 2000)],
    });
    expect(store.conversationRows.map((c) => c.name)).toEqual(['Carol', 'Bob']);
    backend.receive('bob@localhost', 'hello again', 3000);
    await flush();
    const rows = store.conversationRows;
    expect(rows.map((c) => c.name)).toEqual(['Bob', 'Carol']);
    expect(rows[0].unread).toBe(1);
    expect(rows[0].lastMessage?.body).toBe('hello again');
  });

  it('marks the open conversation read and appends incoming messages to it', async () => {
    const { backend, store } = await signedIn({ messages: [message(1, 'bob@localhost', 'hi', 1000)] });
    await store.select('bob@localhost');
    backend.receive('bob@localhost', 'are you there?');
    await flush();
    expect(store.messages['bob@localhost'].map((m) => m.body)).toEqual(['hi', 'are you there?']);
    expect(store.conversations['bob@localhost'].unread).toBe(0);
    expect(backend.calls.some((c) => c.command === 'markRead')).toBe(true);
  });

  it('keeps a draft per conversation and clears it only when sent', async () => {
    const { store } = await signedIn();
    await store.select('bob@localhost');
    store.drafts['bob@localhost'] = 'for Bob';
    store.drafts['carol@localhost'] = 'for Carol';
    expect(await store.send('bob@localhost')).toBe(true);
    expect(store.drafts['bob@localhost']).toBe('');
    expect(store.drafts['carol@localhost']).toBe('for Carol');
    await flush();
    const sent = store.messages['bob@localhost'].at(-1)!;
    expect(sent.body).toBe('for Bob');
    expect(sent.state).toBe('sent');
  });

  it('loads older pages before the oldest loaded message', async () => {
    const messages = Array.from({ length: PAGE + 10 }, (_, i) => message(i + 1, 'bob@localhost', `m${i + 1}`, 1000 + i));
    const { store } = await signedIn({ messages });
    await store.select('bob@localhost');
    expect(store.messages['bob@localhost']).toHaveLength(PAGE);
    expect(store.hasOlder['bob@localhost']).toBe(true);
    expect(await store.loadOlder('bob@localhost')).toBe(10);
    expect(store.messages['bob@localhost'][0].body).toBe('m1');
    expect(store.hasOlder['bob@localhost']).toBe(false);
  });

  it('filters contacts and conversations as the user types', async () => {
    const { store } = await signedIn();
    store.filter = 'car';
    expect(store.contactRows.map((c) => c.name)).toEqual(['Carol']);
    store.filter = 'DAVE@';
    expect(store.contactRows.map((c) => c.name)).toEqual(['dave']);
  });

  it('orders contacts by availability', async () => {
    const { backend, store } = await signedIn();
    backend.setContactPresence({ jid: 'carol@localhost', availability: 'available', status: 'here', resources: [] });
    await flush();
    expect(store.contactRows[0]).toMatchObject({ name: 'Carol', availability: 'available', status: 'here' });
  });

  it('clears everything on sign-out', async () => {
    const { store } = await signedIn({ messages: [message(1, 'bob@localhost', 'hi', 1000)] });
    await store.signOut();
    expect(store.phase).toBe('signed_out');
    expect(store.contactRows).toEqual([]);
    expect(store.conversationRows).toEqual([]);
  });

  it('does not let a slow reload overwrite a roster that arrived meanwhile', async () => {
    const backend = new MockBackend({ signedInAs: 'alice@localhost', roster: [] });
    const slowRoster = backend.roster.bind(backend);
    backend.roster = async () => {
      const answer = await slowRoster();
      backend.emit({ type: 'roster_loaded', items: roster });
      return answer;
    };
    const store = new AppStore(backend);
    await store.start();
    await flush();
    expect(store.contactRows.map((c) => c.name)).toEqual(['Bob', 'Carol', 'dave']);
  });

  it('names contacts by roster name, else the local part', () => {
    expect(displayName('bob@x', { jid: 'bob@x', name: ' Robert ', groups: [], subscription: 'both', pending_out: false })).toBe('Robert');
    expect(displayName('bob@x')).toBe('bob');
    expect(displayName('x.org')).toBe('x.org');
  });
});

describe('AppStore.openMessage', () => {
  it('loads older pages until the message is there, and gives up at the start of the history', async () => {
    const filler = Array.from({ length: PAGE * 2 }, (_, i) => message(i + 2, 'bob@localhost', `m${i}`, 2000 + i));
    const { store } = await signedIn({ messages: [message(1, 'bob@localhost', 'first', 1000), ...filler] });
    expect(await store.openMessage('bob@localhost', 1)).toBe(true);
    expect(store.selected).toBe('bob@localhost');
    expect(store.jumpTo).toEqual({ conversation: 'bob@localhost', id: 1 });
    expect(await store.openMessage('bob@localhost', 12345)).toBe(false);
    expect(store.jumpTo).toEqual({ conversation: 'bob@localhost', id: 1 });
    await store.select('carol@localhost');
    expect(store.jumpTo).toBeNull();
  });

  it('lists jump targets: conversations by activity, then contacts, filtered case-insensitively', async () => {
    const { store } = await signedIn({ messages: [message(1, 'carol@localhost', 'x', 1000), message(2, 'dave@localhost', 'y', 2000)] });
    expect(store.jumpTargets('').map((t) => t.jid)).toEqual(['dave@localhost', 'carol@localhost', 'bob@localhost']);
    expect(store.jumpTargets('BOB').map((t) => t.name)).toEqual(['Bob']);
  });
});

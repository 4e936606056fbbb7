import { within } from '@testing-library/svelte';
import type { Message, RosterItem } from '../lib/bindings';
import { MockBackend, type MockOptions } from '../lib/mockBackend';
import { AppStore } from '../lib/app.svelte';

export const roster: RosterItem[] = [
  { jid: 'bob@localhost', name: 'Bob', groups: [], subscription: 'both', pending_out: false },
  { jid: 'carol@localhost', name: 'Carol', groups: [], subscription: 'both', pending_out: false },
  { jid: 'dave@localhost', name: null, groups: [], subscription: 'both', pending_out: false },
];

export function message(id: number, conversation: string, body: string, timestamp: number, outgoing = false): Message {
  return {
    id,
    conversation,
    direction: outgoing ? 'outgoing' : 'incoming',
    sender: outgoing ? 'alice@localhost/r' : `${conversation}/x`,
    body,
    timestamp,
    origin_id: null,
    stanza_id: null,
    state: outgoing ? 'sent' : 'none',
    read: true,
    mentions_me: false,
    retracted: false,
  };
}

export async function signedIn(options: MockOptions = {}) {
  const backend = new MockBackend({ signedInAs: 'alice@localhost', roster, ...options });
  const store = new AppStore(backend);
  await store.start();
  await flush();
  return { backend, store };
}

/** Lets pending promises and Svelte effects run. */
export async function flush() {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

/** The button that opens a contact's conversation: the first button of its row (the second is
 * "More actions for NAME"), as the end-to-end tests find it. */
export function contactButton(contacts: HTMLElement, name: string): HTMLElement {
  return within(within(contacts).getByRole('listitem', { name })).getAllByRole('button')[0];
}

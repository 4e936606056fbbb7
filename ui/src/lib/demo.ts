// Demo data for running the UI in a plain browser with MockBackend (password "secret").

import type { MockOptions } from './mockBackend';

export function demoOptions(): MockOptions {
  const now = Date.now();
  const hour = 3_600_000;
  return {
    password: 'secret',
    echo: ['bob@localhost'],
    roster: [
      { jid: 'bob@localhost', name: 'Bob', groups: ['Team'], subscription: 'both', pending_out: false },
      { jid: 'carol@localhost', name: 'Carol', groups: ['Team'], subscription: 'both', pending_out: false },
      { jid: 'dave@localhost', name: null, groups: [], subscription: 'both', pending_out: false },
    ],
    presences: [
      { jid: 'bob@localhost', availability: 'available', status: 'Answering everything', resources: [] },
      { jid: 'carol@localhost', availability: 'away', status: 'Lunch', resources: [] },
    ],
    requests: ['erin@localhost'],
    messages: [
      { id: 1, conversation: 'carol@localhost', direction: 'incoming', sender: 'carol@localhost/x', body: 'Meeting at 3?', timestamp: now - 26 * hour, origin_id: null, stanza_id: null, state: 'none', read: true, mentions_me: false, retracted: false },
      { id: 2, conversation: 'carol@localhost', direction: 'outgoing', sender: 'alice@localhost/r', body: 'Yes, see you there.', timestamp: now - 25 * hour, origin_id: null, stanza_id: null, state: 'delivered', read: true, mentions_me: false, retracted: false },
      { id: 3, conversation: 'carol@localhost', direction: 'incoming', sender: 'carol@localhost/x', body: '<b>not bold</b> — text stays text', timestamp: now - hour, origin_id: null, stanza_id: null, state: 'none', read: false, mentions_me: false, retracted: false },
    ],
  };
}

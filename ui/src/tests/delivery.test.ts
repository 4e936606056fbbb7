// Issue 4 in the UI: delivery marks, retry and delete of a failed message, sending while
// offline, chat states both ways, the connection banner, catch-up messages and the privacy
// setting. (That catch-up messages do not notify one by one is the Rust side's: notifications.rs.)
import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import App from '../App.svelte';
import { PAUSED_AFTER, TYPING_TIMEOUT } from '../lib/app.svelte';
import type { MockOptions } from '../lib/mockBackend';
import { contactButton, flush, message, signedIn } from './fixtures';

const BOB = 'bob@localhost';
const online = { state: 'online', jid: 'alice@localhost/r', sasl_mechanism: 'SCRAM-SHA-1', channel_binding: false, resumed: false } as const;

afterEach(() => {
  vi.useRealTimers();
});

/** The app signed in, with Bob's conversation open. */
async function openBob(options: MockOptions = {}) {
  const user = userEvent.setup();
  const { backend, store } = await signedIn(options);
  render(App, { store });
  await flush();
  await user.click(contactButton(screen.getByRole('list', { name: 'Contacts' }), 'Bob'));
  await flush();
  const log = screen.getByRole('log', { name: 'Messages with Bob' });
  return { user, backend, store, log };
}

function bubble(log: HTMLElement, text: string): HTMLElement {
  return within(log).getByText(text).closest('article')!;
}

describe('delivery states', () => {
  it('shows each state of our messages as a mark with a name: sending, sent, delivered, read', async () => {
    const now = Date.now();
    const mine = (id: number, state: 'pending' | 'sent' | 'delivered' | 'read') => ({ ...message(id, BOB, `m${id}`, now - 1000 + id, true), state });
    const { log } = await openBob({ messages: [mine(1, 'pending'), mine(2, 'sent'), mine(3, 'delivered'), mine(4, 'read'), message(5, BOB, 'theirs', now)] });
    expect(within(bubble(log, 'm1')).getByRole('img', { name: 'Sending…' })).toHaveTextContent('◷');
    expect(within(bubble(log, 'm2')).getByRole('img', { name: 'Sent' })).toHaveTextContent(/^✓$/);
    expect(within(bubble(log, 'm3')).getByRole('img', { name: 'Delivered' })).toHaveTextContent('✓✓');
    const read = within(bubble(log, 'm4')).getByRole('img', { name: 'Read' });
    expect(read).toHaveTextContent('✓✓');
    expect(read).toHaveClass('read');
    expect(within(bubble(log, 'theirs')).queryByRole('img')).not.toBeInTheDocument();
  });

  it('follows receipts and markers: sent, then delivered, then read', async () => {
    const { user, backend, log } = await openBob();
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'hello{Enter}');
    await flush();
    expect(within(bubble(log, 'hello')).getByRole('img', { name: 'Sent' })).toBeInTheDocument();
    const id = Number(bubble(log, 'hello').dataset.messageId);
    backend.updateMessage(id, 'delivered');
    await flush();
    expect(within(bubble(log, 'hello')).getByRole('img', { name: 'Delivered' })).toBeInTheDocument();
    backend.updateMessage(id, 'read');
    await flush();
    expect(within(bubble(log, 'hello')).getByRole('img', { name: 'Read' })).toBeInTheDocument();
  });

  it('a failed message says "Not sent" and offers Retry and Delete, by keyboard too', async () => {
    const { user, backend, log } = await openBob({ failing: [BOB] });
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'lost{Enter}');
    await flush();
    const failed = bubble(log, 'lost');
    expect(failed).toHaveClass('failed');
    expect(within(failed).getByText('Not sent')).toBeInTheDocument();
    // The conversation list says so too (Bob's conversation may not be the one in view).
    const conversations = screen.getByRole('navigation', { name: 'Conversations and contacts' });
    expect(within(conversations).getByRole('button', { name: /Bob.*You: lost.*Not sent/ })).toBeInTheDocument();

    // Retry: pending again, and (still failing) failed again.
    const retry = within(failed).getByRole('button', { name: 'Retry' });
    retry.focus();
    await user.keyboard('{Enter}');
    await flush();
    expect(backend.calls.filter((c) => c.command === 'retryMessage')).toHaveLength(1);
    expect(within(bubble(log, 'lost')).getByText('Not sent')).toBeInTheDocument();

    // The button had the focus and went away (pending): the focus is on the log, from which
    // Tab reaches the failed message's buttons again.
    expect(log).toHaveFocus();
    await user.tab();
    expect(within(bubble(log, 'lost')).getByRole('button', { name: 'Retry' })).toHaveFocus();

    // Delete: gone from the log and the conversation list's preview.
    await user.tab();
    expect(within(bubble(log, 'lost')).getByRole('button', { name: 'Delete' })).toHaveFocus();
    await user.keyboard('{Enter}');
    await flush();
    expect(within(log).queryByText('lost')).not.toBeInTheDocument();
    // The focus does not fall to the page with the button: it is on the log.
    expect(log).toHaveFocus();
    expect(within(conversations).queryByText('Not sent')).not.toBeInTheDocument();
    expect(backend.calls.find((c) => c.command === 'deleteMessage')?.args).toEqual([Number(failed.dataset.messageId)]);
  });

  it('a retry that gets through shows the message as sent', async () => {
    const now = Date.now();
    const failed = { ...message(1, BOB, 'try again', now, true), state: 'failed' as const };
    const { user, log } = await openBob({ messages: [failed] });
    await user.click(within(bubble(log, 'try again')).getByRole('button', { name: 'Retry' }));
    await flush();
    expect(within(bubble(log, 'try again')).getByRole('img', { name: 'Sent' })).toBeInTheDocument();
    expect(within(log).queryByText('Not sent')).not.toBeInTheDocument();
  });

  it('sends while offline: the composer stays usable and the message waits as pending until the connection is back', async () => {
    const { user, backend, log } = await openBob();
    backend.setConnection({ state: 'reconnecting', attempt: 1, retry_in_ms: 5000, reason: null });
    await flush();
    const composer = screen.getByRole('textbox', { name: 'Message' });
    expect(composer).toBeEnabled();
    await user.type(composer, 'later{Enter}');
    await flush();
    expect(within(bubble(log, 'later')).getByRole('img', { name: 'Sending…' })).toBeInTheDocument();
    backend.setConnection(online);
    await flush();
    expect(within(bubble(log, 'later')).getByRole('img', { name: 'Sent' })).toBeInTheDocument();
  });

  it('adds catch-up messages (from the archive after being offline) like live ones', async () => {
    const { backend, log } = await openBob();
    const missed = [message(50, BOB, 'while you were away', Date.now() - 60_000), message(51, BOB, 'and this', Date.now() - 30_000)];
    backend.emit({ type: 'sync_started' });
    backend.emit({ type: 'messages_received', messages: missed.map((m) => ({ ...m, read: false })), catch_up: true });
    backend.emit({ type: 'sync_finished', received: 2 });
    await flush();
    expect(within(log).getByText('while you were away')).toBeInTheDocument();
    expect(within(log).getByText('and this')).toBeInTheDocument();
  });
});

describe('chat states', () => {
  it('shows "Bob is typing…" while Bob composes; paused, a message from him or 30 s of silence hide it', async () => {
    const { backend } = await openBob();
    const typing = () => document.querySelector('.typing')!;
    expect(typing()).toHaveAttribute('role', 'status');
    expect(typing()).toHaveAttribute('aria-live', 'polite');
    expect(typing()).toHaveTextContent('');

    backend.contactChatState(BOB, 'composing');
    await flush();
    expect(typing()).toHaveTextContent('Bob is typing…');
    backend.contactChatState(BOB, 'paused');
    await flush();
    expect(typing()).toHaveTextContent('');

    backend.contactChatState(BOB, 'composing');
    await flush();
    backend.receive(BOB, 'done typing');
    await flush();
    expect(typing()).toHaveTextContent('');

    vi.useFakeTimers();
    backend.contactChatState(BOB, 'composing');
    await vi.advanceTimersByTimeAsync(10);
    expect(typing()).toHaveTextContent('Bob is typing…');
    await vi.advanceTimersByTimeAsync(TYPING_TIMEOUT - 1000);
    expect(typing()).toHaveTextContent('Bob is typing…');
    await vi.advanceTimersByTimeAsync(1000);
    expect(typing()).toHaveTextContent('');
  });

  it('losing the connection hides the indicator (nothing is known while away)', async () => {
    const { backend } = await openBob();
    backend.contactChatState(BOB, 'composing');
    await flush();
    expect(document.querySelector('.typing')).toHaveTextContent('Bob is typing…');
    backend.setConnection({ state: 'reconnecting', attempt: 1, retry_in_ms: 1000, reason: null });
    await flush();
    expect(document.querySelector('.typing')).toHaveTextContent('');
  });

  it('a contact typing in another conversation shows nothing here', async () => {
    const { backend } = await openBob();
    backend.contactChatState('carol@localhost', 'composing');
    await flush();
    expect(document.querySelector('.typing')).toHaveTextContent('');
  });

  it('tells the contact: composing on input, paused after 5 s idle, active when cleared; sending implies active', async () => {
    const { user, backend } = await openBob();
    const states = () => backend.calls.filter((c) => c.command === 'setChatState').map((c) => c.args[1]);
    const composer = screen.getByRole('textbox', { name: 'Message' });
    await user.type(composer, 'hel');
    expect(states()).toEqual(['composing']);
    expect(backend.calls.find((c) => c.command === 'setChatState')?.args[0]).toBe(BOB);
    await user.clear(composer);
    expect(states()).toEqual(['composing', 'active']);

    vi.useFakeTimers({ shouldAdvanceTime: true });
    await user.type(composer, 'hello');
    await vi.advanceTimersByTimeAsync(PAUSED_AFTER - 100);
    expect(states()).toEqual(['composing', 'active', 'composing']);
    await vi.advanceTimersByTimeAsync(200);
    expect(states()).toEqual(['composing', 'active', 'composing', 'paused']);
    await user.type(composer, '!');
    expect(states().at(-1)).toBe('composing');
    await user.keyboard('{Enter}');
    await vi.advanceTimersByTimeAsync(PAUSED_AFTER * 2);
    // The message carried `active`; no paused after it.
    expect(states().at(-1)).toBe('composing');
    expect(backend.calls.some((c) => c.command === 'sendMessage')).toBe(true);
  });
});

describe('connection banner', () => {
  const banner = () => document.querySelector<HTMLElement>('.banner.connection')!;

  it('is empty while online; counts down to the next attempt; Retry now reconnects', async () => {
    const { user, backend } = await openBob();
    expect(banner()).toHaveAttribute('role', 'status');
    expect(banner()).toHaveTextContent('');

    vi.useFakeTimers({ shouldAdvanceTime: true });
    backend.setConnection({ state: 'reconnecting', attempt: 3, retry_in_ms: 12_000, reason: { code: 'timeout', stage: 'connecting', message: 'No answer in time.' } as never });
    await vi.advanceTimersByTimeAsync(10);
    expect(banner()).toHaveTextContent('Connection lost — retrying in 12 s');
    expect(banner()).toHaveTextContent('No answer in time.');
    await vi.advanceTimersByTimeAsync(3000);
    expect(banner()).toHaveTextContent('retrying in 9 s');
    await vi.advanceTimersByTimeAsync(9000);
    expect(banner()).toHaveTextContent('Connection lost — reconnecting…');
    expect(within(banner()).queryByRole('button', { name: 'Retry now' })).not.toBeInTheDocument();

    backend.setConnection({ state: 'reconnecting', attempt: 4, retry_in_ms: 30_000, reason: null });
    await vi.advanceTimersByTimeAsync(10);
    expect(banner()).toHaveTextContent('retrying in 30 s');
    await user.click(within(banner()).getByRole('button', { name: 'Retry now' }));
    expect(backend.calls.some((c) => c.command === 'reconnectNow')).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(banner()).toHaveTextContent('Connecting…');

    backend.setConnection(online);
    await vi.advanceTimersByTimeAsync(10);
    expect(banner()).toHaveTextContent('');
  });

  it('says why it is offline, and when it is catching up', async () => {
    const { backend } = await openBob();
    backend.setConnection({ state: 'offline', reason: { code: 'wrong_password', message: 'The password is wrong, or the account does not exist.' } as never });
    await flush();
    expect(banner()).toHaveTextContent('Offline: The password is wrong, or the account does not exist.');

    backend.setConnection(online);
    backend.emit({ type: 'sync_started' });
    await flush();
    expect(banner()).toHaveTextContent('Catching up…');
    backend.emit({ type: 'sync_finished', received: 0 });
    await flush();
    expect(banner()).toHaveTextContent('');
  });
});

describe('privacy setting', () => {
  it('"Send read receipts" is a switch in the Privacy section, on by default, saved when changed', async () => {
    const { user, backend } = await openBob();
    await user.click(screen.getByRole('button', { name: 'Settings…' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    const privacy = within(dialog).getByRole('region', { name: 'Privacy' });
    const toggle = within(privacy).getByRole('switch', { name: 'Send read receipts' });
    expect(toggle).toBeChecked();
    expect(toggle).toHaveAccessibleDescription(/Contacts see when you have read their messages/);
    await user.click(toggle);
    await flush();
    expect(toggle).not.toBeChecked();
    expect(backend.savedSettings.send_read_markers).toBe(false);
  });
});

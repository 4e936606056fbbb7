import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { AppStore } from '../lib/app.svelte';
import { MockBackend } from '../lib/mockBackend';
import { contactButton, flush, message, roster, signedIn } from './fixtures';

async function startSignedOut(options = {}) {
  const backend = new MockBackend({ password: 'right', roster, ...options });
  const store = new AppStore(backend);
  await store.start();
  render(App, { store });
  return { backend, store };
}

describe('sign-in screen', () => {
  it('shows a wrong password under the password field, then signs in', async () => {
    const user = userEvent.setup();
    await startSignedOut();
    await user.type(screen.getByRole('textbox', { name: 'Address' }), 'alice@localhost');
    await user.type(screen.getByLabelText('Password'), 'nope');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await flush();
    const password = screen.getByLabelText('Password');
    expect(password).toHaveAttribute('aria-invalid', 'true');
    expect(password).toHaveAccessibleDescription('The password is wrong, or the account does not exist.');

    await user.clear(password);
    await user.type(password, 'right{Enter}');
    await flush();
    expect(screen.getByRole('list', { name: 'Contacts' })).toBeInTheDocument();
  });

  it('shows an untrusted certificate as a dialog with the fingerprint; Cancel closes it', async () => {
    const user = userEvent.setup();
    const fingerprint = 'AA:BB:CC:DD';
    const { backend } = await startSignedOut({ untrustedFingerprint: fingerprint, password: 'secret' });
    await user.type(screen.getByRole('textbox', { name: 'Address' }), 'alice@localhost');
    await user.type(screen.getByLabelText('Password'), 'secret{Enter}');
    await flush();
    const dialog = screen.getByRole('alertdialog', { name: 'Untrusted certificate' });
    expect(within(dialog).getByText(fingerprint)).toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(backend.calls.some((c) => c.command === 'trustCertificate')).toBe(false);
  });

  it('trusting the certificate signs in', async () => {
    const user = userEvent.setup();
    await startSignedOut({ untrustedFingerprint: 'AA:BB', password: 'secret' });
    await user.type(screen.getByRole('textbox', { name: 'Address' }), 'alice@localhost');
    await user.type(screen.getByLabelText('Password'), 'secret{Enter}');
    await flush();
    await user.click(screen.getByRole('button', { name: 'Trust this certificate' }));
    await flush();
    expect(screen.getByRole('list', { name: 'Contacts' })).toBeInTheDocument();
  });

  it('sends the advanced settings', async () => {
    const user = userEvent.setup();
    const { backend } = await startSignedOut();
    await user.type(screen.getByRole('textbox', { name: 'Address' }), 'alice@localhost');
    await user.type(screen.getByLabelText('Password'), 'right');
    await user.click(screen.getByText('Advanced'));
    await user.type(screen.getByRole('textbox', { name: 'Server host' }), '127.0.0.1');
    await user.type(screen.getByRole('textbox', { name: 'Port' }), '5223');
    await user.click(screen.getByRole('checkbox', { name: /Direct TLS/ }));
    await user.type(screen.getByRole('textbox', { name: 'Extra CA certificate file' }), '/tmp/ca.pem');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'signIn')?.args[0]).toMatchObject({
      jid: 'alice@localhost',
      host: '127.0.0.1',
      port: 5223,
      direct_tls: true,
      ca_file: '/tmp/ca.pem',
      remember: true,
    });
  });
});

describe('main window', () => {
  it('lists contacts named by display name with presence, filtered as the user types', async () => {
    const user = userEvent.setup();
    const { backend, store } = await signedIn();
    render(App, { store });
    await flush();
    backend.setContactPresence({ jid: 'bob@localhost', availability: 'away', status: 'Lunch', resources: [] });
    await flush();
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    const bob = within(contacts).getByRole('listitem', { name: 'Bob' });
    expect(within(bob).getByRole('img', { name: 'Away' })).toBeInTheDocument();
    expect(within(bob).getByText('Lunch')).toBeInTheDocument();
    expect(within(contacts).getByRole('listitem', { name: 'dave' })).toBeInTheDocument();

    await user.type(screen.getByRole('searchbox', { name: 'Filter contacts and conversations' }), 'car');
    expect(within(contacts).getAllByRole('listitem').map((li) => li.getAttribute('aria-label'))).toEqual(['Carol']);
  });

  it('opens a conversation: history as a log with day separators; Enter sends, Shift+Enter adds a line', async () => {
    const user = userEvent.setup();
    const now = Date.now();
    const { backend, store } = await signedIn({
      messages: [message(1, 'bob@localhost', 'yesterday text', now - 86_400_000 - 1000), message(2, 'bob@localhost', 'today text', now - 1000, true)],
    });
    render(App, { store });
    await flush();
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    await user.click(contactButton(contacts, 'Bob'));
    await flush();

    const log = screen.getByRole('log', { name: 'Messages with Bob' });
    expect(within(log).getByRole('separator', { name: 'Today' })).toBeInTheDocument();
    expect(within(log).getByRole('separator', { name: 'Yesterday' })).toBeInTheDocument();
    expect(within(log).getByText('today text').closest('article')).toHaveClass('own');
    expect(within(log).getByRole('img', { name: 'Sent' })).toBeInTheDocument();

    const composer = screen.getByRole('textbox', { name: 'Message' });
    expect(composer).toHaveFocus();
    await user.type(composer, 'line one{Shift>}{Enter}{/Shift}line two');
    expect(composer).toHaveValue('line one\nline two');
    await user.keyboard('{Enter}');
    await flush();
    expect(composer).toHaveValue('');
    expect(backend.calls.find((c) => c.command === 'sendMessage')?.args).toEqual(['bob@localhost', 'line one\nline two']);
    expect(within(log).getByText(/line one/)).toBeInTheDocument();
  });

  it('keeps the draft of each conversation', async () => {
    const user = userEvent.setup();
    const { store } = await signedIn();
    render(App, { store });
    await flush();
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    const open = async (name: string) => {
      await user.click(contactButton(contacts, name));
      await flush();
    };
    await open('Bob');
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'half a thought');
    await open('Carol');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('');
    await open('Bob');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('half a thought');
  });

  it('shows conversations with last message and unread count', async () => {
    const { backend, store } = await signedIn({ messages: [message(1, 'carol@localhost', 'earlier', 1000)] });
    render(App, { store });
    await flush();
    backend.receive('bob@localhost', 'ping');
    await flush();
    const list = screen.getByRole('list', { name: 'Conversations' });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('aria-label'))).toEqual(['Bob', 'Carol']);
    expect(within(items[0]).getByText('ping')).toBeInTheDocument();
    expect(within(items[0]).getByLabelText('1 unread')).toBeInTheDocument();
  });

  it('renders hostile network text literally, never as HTML', async () => {
    const payloads = [
      '<img src=x onerror="window.__pwned=1">',
      '<script>window.__pwned=1</script>',
      '<svg onload="window.__pwned=1"></svg>',
      '"><iframe src="javascript:window.__pwned=1">',
    ];
    const evil = payloads[0];
    const { backend, store } = await signedIn({
      roster: [{ jid: 'mallory@localhost', name: evil, groups: [], subscription: 'both', pending_out: false }],
    });
    render(App, { store });
    await flush();
    backend.setContactPresence({ jid: 'mallory@localhost', availability: 'available', status: payloads[1], resources: [] });
    for (const p of payloads) backend.receive('mallory@localhost', p);
    await flush();
    await store.select('mallory@localhost');
    await flush();
    const log = screen.getByRole('log');
    for (const p of payloads) expect(within(log).getByText(p)).toBeInTheDocument();
    expect(screen.getAllByText(evil).length).toBeGreaterThan(0);
    expect(screen.getAllByText(payloads[1]).length).toBeGreaterThan(0);
    expect(document.querySelector('img, script, svg, iframe')).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it('sets the own presence', async () => {
    const user = userEvent.setup();
    const { backend, store } = await signedIn();
    render(App, { store });
    await flush();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Presence' }), 'Do not disturb');
    await flush();
    expect(backend.calls.find((c) => c.command === 'setPresence')?.args).toEqual(['do_not_disturb', null]);
    expect(screen.getByRole('combobox', { name: 'Presence' })).toHaveValue('do_not_disturb');
  });

  it('accepts a contact request', async () => {
    const user = userEvent.setup();
    const { backend, store } = await signedIn({ requests: ['erin@localhost'] });
    render(App, { store });
    await flush();
    await user.click(screen.getByRole('button', { name: 'Accept erin@localhost' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'approveSubscription')?.args).toEqual(['erin@localhost']);
    expect(screen.queryByRole('button', { name: 'Accept erin@localhost' })).not.toBeInTheDocument();
  });
});

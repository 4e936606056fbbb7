import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { occupant, type MockRoom } from '../lib/mockBackend';
import { flush, signedIn } from './fixtures';

const TEA = 'tea@muc.localhost';
const SECRET = 'secret@muc.localhost';

const rooms: MockRoom[] = [
  { jid: TEA, name: 'Tea room', subject: 'Oolong <b>only</b>', occupants: [occupant('bob', 'moderator', 'owner'), occupant('carol', 'participant', 'none', 'carol@localhost')] },
  { jid: SECRET, name: 'Secret', password: 'sesame' },
  { jid: 'vip@muc.localhost', name: 'VIP', membersOnly: true },
  { jid: 'full@muc.localhost', full: true },
  { jid: 'out@muc.localhost', banned: true },
];

async function app(options: { rooms?: MockRoom[] } = {}) {
  const { store, backend } = await signedIn({ rooms: options.rooms ?? rooms });
  render(App, { store });
  await flush();
  return { store, backend };
}

async function openJoinDialog(user: ReturnType<typeof userEvent.setup>) {
  await user.click(screen.getByRole('button', { name: 'Join room…' }));
  return screen.getByRole('dialog', { name: 'Join room' });
}

describe('join room dialog', () => {
  it('offers the account local part as nickname, browses the service and joins the chosen room', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    const dialog = await openJoinDialog(user);
    expect(within(dialog).getByRole('textbox', { name: 'Room address' })).toHaveFocus();
    expect(within(dialog).getByRole('textbox', { name: 'Nickname' })).toHaveValue('alice');
    expect(within(dialog).getByRole('textbox', { name: 'Room service' })).toHaveValue('muc.localhost');
    await user.click(within(dialog).getByRole('button', { name: 'Browse' }));
    await flush();
    const listing = within(dialog).getByRole('list', { name: 'Rooms on the service' });
    const tea = within(listing).getByRole('button', { name: /Tea room/ });
    expect(within(tea).getByLabelText('2 in the room')).toBeInTheDocument();
    await user.click(tea);
    expect(within(dialog).getByRole('textbox', { name: 'Room address' })).toHaveValue(TEA);
    await user.click(within(dialog).getByRole('button', { name: 'Join' }));
    await flush();
    expect(screen.queryByRole('dialog', { name: 'Join room' })).not.toBeInTheDocument();
    expect(backend.calls.find((c) => c.command === 'joinRoom')?.args).toEqual([TEA, 'alice', null]);
    expect(screen.getByRole('main', { name: 'Room Tea room' })).toBeInTheDocument();
    const sidebarRooms = screen.getByRole('list', { name: 'Rooms' });
    expect(within(sidebarRooms).getByRole('listitem', { name: 'Tea room' })).toBeInTheDocument();
  });

  it('browses another service with Enter in its field, and says when it cannot', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    const dialog = await openJoinDialog(user);
    const service = within(dialog).getByRole('textbox', { name: 'Room service' });
    await user.clear(service);
    await user.type(service, 'nowhere{Enter}');
    await flush();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('not a valid address');
    expect(backend.calls.some((c) => c.command === 'joinRoom')).toBe(false);
    await user.clear(service);
    await user.type(service, 'muc.localhost{Enter}');
    await flush();
    expect(within(within(dialog).getByRole('list', { name: 'Rooms on the service' })).getAllByRole('button').length).toBe(5);
  });

  it('asks for another nickname inline when it is taken, and for the password when it is wrong', async () => {
    const user = userEvent.setup();
    await app();
    const dialog = await openJoinDialog(user);
    const nick = within(dialog).getByRole('textbox', { name: 'Nickname' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Room address' }), TEA);
    await user.clear(nick);
    await user.type(nick, 'bob{Enter}');
    await flush();
    expect(nick).toHaveAttribute('aria-invalid', 'true');
    expect(nick).toHaveAccessibleDescription('The nickname “bob” is taken in this room. Choose another nickname.');
    expect(nick).toHaveFocus();

    const address = within(dialog).getByRole('textbox', { name: 'Room address' });
    await user.clear(address);
    await user.type(address, SECRET);
    await user.click(within(dialog).getByRole('button', { name: 'Join' }));
    await flush();
    const password = within(dialog).getByLabelText('Room password');
    expect(password).toHaveFocus();
    expect(password).toHaveAccessibleDescription(/needs a password/);
    await user.type(password, 'sesame{Enter}');
    await flush();
    expect(screen.getByRole('main', { name: 'Room Secret' })).toBeInTheDocument();
  });

  it('says why a banned, members-only, full or missing room cannot be joined; Escape closes', async () => {
    const user = userEvent.setup();
    await app();
    const dialog = await openJoinDialog(user);
    const address = within(dialog).getByRole('textbox', { name: 'Room address' });
    for (const [jid, text] of [
      ['out@muc.localhost', 'You are banned from this room.'],
      ['vip@muc.localhost', /members only/],
      ['full@muc.localhost', /is full/],
    ] as const) {
      await user.clear(address);
      await user.type(address, jid);
      await user.click(within(dialog).getByRole('button', { name: 'Join' }));
      await flush();
      expect(within(dialog).getByRole('alert')).toHaveTextContent(text);
    }
    await user.clear(address);
    await user.type(address, 'nope@muc.localhost{Enter}');
    await flush();
    expect(address).toHaveAccessibleDescription(/does not exist/);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog', { name: 'Join room' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Join room…' })).toHaveFocus();
  });
});

describe('room pane', () => {
  it('shows the subject as text, sender nicks, and sends with send_room_message', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    expect(within(pane).getByText('Oolong <b>only</b>')).toBeInTheDocument();
    expect(pane.querySelector('b')).toBeNull();
    expect(within(pane).getByText('Oolong <b>only</b>').parentElement?.textContent?.trim()).toBe(`${TEA} — Oolong <b>only</b>`);
    backend.roomsMock.receive(TEA, 'bob', 'hello <i>all</i>');
    await flush();
    const log = within(pane).getByRole('log', { name: 'Messages in Tea room' });
    const article = within(log).getByRole('article', { name: /^bob, / });
    expect(within(article).getByText('bob')).toBeInTheDocument();
    expect(within(article).getByText('hello <i>all</i>')).toBeInTheDocument();
    await user.type(within(pane).getByRole('textbox', { name: 'Message' }), 'hi bob{Enter}');
    await flush();
    expect(backend.calls.find((c) => c.command === 'sendRoomMessage')?.args).toEqual([TEA, 'hi bob']);
    expect(within(within(log).getByRole('article', { name: /^You, / })).getByRole('img', { name: 'Sent' })).toBeInTheDocument();
  });

  it('marks messages that mention us, keeps removed ones as a placeholder, and sets when the room notifies', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    backend.roomsMock.receive(TEA, 'bob', '@alice tea?', true);
    const spam = backend.roomsMock.receive(TEA, 'carol', 'buy cheap tea');
    await flush();
    const log = within(pane).getByRole('log', { name: 'Messages in Tea room' });
    expect(within(log).getByRole('article', { name: /^bob, .*, mentions you$/ })).toHaveClass('mention');
    expect(within(log).getByRole('article', { name: /^carol, / })).not.toHaveClass('mention');
    backend.emit({ type: 'message_retracted', id: spam.id, conversation: TEA, reason: 'spam' });
    await flush();
    const removed = within(log).getByRole('article', { name: /^carol, / });
    expect(within(removed).getByText('This message was removed by a moderator.')).toBeInTheDocument();
    expect(within(removed).queryByText('buy cheap tea')).toBeNull();

    const notify = within(pane).getByRole('combobox', { name: 'Notify' });
    expect(notify).toHaveValue('mentions');
    await user.selectOptions(notify, 'all');
    await flush();
    expect(backend.calls.find((c) => c.command === 'setRoomNotify')?.args).toEqual([TEA, 'all']);
    expect(store.roomNotify(TEA)).toBe('all');
  });

  it('counts unread room messages in the Rooms list until the room is opened', async () => {
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await flush();
    backend.roomsMock.receive(TEA, 'bob', 'one');
    backend.roomsMock.receive(TEA, 'carol', 'two');
    await flush();
    const row = within(screen.getByRole('list', { name: 'Rooms' })).getByRole('listitem', { name: 'Tea room' });
    expect(within(row).getByLabelText('2 unread')).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'Conversations' })).queryByRole('listitem', { name: 'Tea room' })).not.toBeInTheDocument();
    await userEvent.setup().click(within(row).getByRole('button'));
    await flush();
    expect(within(row).queryByLabelText(/unread/)).not.toBeInTheDocument();
    expect(backend.calls.some((c) => c.command === 'markRead' && c.args[0] === TEA)).toBe(true);
  });

  it('lists occupants by role with availability and affiliation; no moderation for a participant', async () => {
    const { store } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const list = screen.getByRole('list', { name: 'Occupants' });
    expect(within(list).getByRole('heading', { name: /Moderators/ })).toBeInTheDocument();
    const bob = within(list).getByRole('listitem', { name: 'bob' });
    expect(within(bob).getByText('Owner')).toBeInTheDocument();
    expect(within(bob).getByRole('img', { name: 'Available' })).toBeInTheDocument();
    expect(within(list).queryByRole('button', { name: /Actions for/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Change subject…' })).not.toBeInTheDocument();
  });

  it('keeps 2,000 occupants to the rows in view', async () => {
    const crowd = Array.from({ length: 2000 }, (_, i) => occupant(`n${String(i).padStart(4, '0')}`));
    const { store } = await app({ rooms: [{ jid: TEA, name: 'Big', occupants: crowd }] });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const items = within(screen.getByRole('list', { name: 'Occupants' })).getAllByRole('listitem');
    expect(items.length).toBeGreaterThan(5);
    expect(items.length).toBeLessThan(80);
    expect(items[0]).toHaveAttribute('aria-setsize', '2001');
    expect(screen.getByRole('button', { name: 'Occupants (2001)' })).toBeInTheDocument();
  });

  it('lets a moderator kick after confirming from the keyboard menu, and shows a refusal', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app({ rooms: [{ ...rooms[0], role: 'moderator', affiliation: 'admin' }] });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const list = screen.getByRole('list', { name: 'Occupants' });
    within(list).getByRole('button', { name: 'Actions for carol' }).focus();
    await user.keyboard('{Enter}');
    const menu = within(list).getByRole('menu', { name: 'Moderate carol' });
    expect(within(menu).getAllByRole('menuitem')[0]).toHaveFocus();
    await user.click(within(menu).getByRole('menuitem', { name: 'Kick…' }));
    const confirm = screen.getByRole('alertdialog', { name: 'Kick carol?' });
    await user.type(within(confirm).getByRole('textbox', { name: 'Reason (optional)' }), 'rude');
    await user.click(within(confirm).getByRole('button', { name: 'Kick' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'kick')?.args).toEqual([TEA, 'carol', 'rude']);
    expect(within(list).queryByRole('listitem', { name: 'carol' })).not.toBeInTheDocument();

    // Destroying needs the owner: the room refuses and the dialog says so.
    store.rooms.rooms = { ...store.rooms.rooms, [TEA]: { ...store.rooms.rooms[TEA], affiliation: 'owner' } };
    await flush();
    await user.click(screen.getByRole('button', { name: 'Destroy room…' }));
    const destroy = screen.getByRole('alertdialog', { name: 'Destroy Tea room?' });
    await user.click(within(destroy).getByRole('button', { name: 'Destroy room' }));
    await flush();
    expect(within(destroy).getByRole('alert')).toHaveTextContent('You are not allowed to do that');
  });

  it('leaves the room after confirming; the room goes from the list', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    await user.click(screen.getByRole('button', { name: 'Leave room…' }));
    const confirm = screen.getByRole('alertdialog', { name: 'Leave Tea room?' });
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(within(confirm).getByRole('button', { name: 'Leave room' }));
    await flush();
    expect(backend.calls.some((c) => c.command === 'leaveRoom')).toBe(true);
    expect(within(screen.getByRole('list', { name: 'Rooms' })).queryByRole('listitem', { name: 'Tea room' })).not.toBeInTheDocument();
  });

  it('changes the nickname (a taken one is refused in the dialog) and hides the occupant panel', async () => {
    const user = userEvent.setup();
    const { store } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const toggle = screen.getByRole('button', { name: 'Occupants (3)' });
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await user.click(screen.getByRole('button', { name: 'Change nickname…' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Change nickname' });
    const field = within(dialog).getByRole('textbox', { name: 'Nickname' });
    expect(field).toHaveFocus();
    await user.clear(field);
    await user.type(field, 'bob{Enter}');
    await flush();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('The nickname bob is already taken');
    await user.clear(field);
    await user.type(field, 'ally{Enter}');
    await flush();
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(store.rooms.rooms[TEA].nick).toBe('ally');
    expect(within(screen.getByRole('list', { name: 'Occupants' })).getByRole('listitem', { name: 'ally' })).toHaveTextContent('ally (you)');
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByRole('list', { name: 'Occupants' })).not.toBeInTheDocument();
  });

  it('shows that we were kicked, by whom and why', async () => {
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    backend.roomsMock.setState(TEA, { state: 'left', reason: 'kicked', actor: 'bob', text: 'too loud' });
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    expect(within(pane).getByText('You were kicked by bob: too loud')).toHaveAttribute('role', 'status');
    expect(within(pane).getByRole('button', { name: 'Join again…' })).toBeInTheDocument();
    expect(within(pane).queryByRole('textbox', { name: 'Message' })).not.toBeInTheDocument();
  });
});

describe('hostile room text', () => {
  it('shows nicks, room names, subjects and bodies from the network as text, never as HTML', async () => {
    const evil = '<img src=x onerror="window.__xss=1">';
    const { store, backend } = await app({
      rooms: [{ jid: TEA, name: `Tea ${evil}`, subject: `Topic ${evil}`, occupants: [occupant(`nick ${evil}`, 'moderator', 'owner')] }],
    });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    backend.roomsMock.receive(TEA, `nick ${evil}`, `body ${evil}`);
    await flush();
    expect(document.querySelector('img')).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    expect(screen.getByRole('main', { name: `Room Tea ${evil}` })).toBeInTheDocument();
    expect(screen.getByText(`Topic ${evil}`)).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'Occupants' })).getByRole('listitem', { name: `nick ${evil}` })).toBeInTheDocument();
    expect(within(screen.getByRole('log')).getByText(`body ${evil}`)).toBeInTheDocument();
    expect(within(screen.getByRole('log')).getAllByText(`nick ${evil}`).length).toBeGreaterThan(0);
  });
});

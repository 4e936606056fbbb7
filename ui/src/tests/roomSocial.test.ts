import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import type { Invitation } from '../lib/bindings';
import { occupant, type MockRoom } from '../lib/mockBackend';
import { insertMention, mentionAt } from '../lib/completion';
import { flush, signedIn } from './fixtures';

const TEA = 'tea@muc.localhost';
const SECRET = 'secret@muc.localhost';

const rooms: MockRoom[] = [
  {
    jid: TEA,
    name: 'Tea room',
    occupants: [occupant('bob', 'moderator', 'owner'), occupant('carol', 'participant', 'none', 'carol@localhost'), occupant('Cedric')],
  },
  { jid: SECRET, name: 'Secret', password: 'sesame' },
];

async function app(options: { rooms?: MockRoom[] } = {}) {
  const { store, backend } = await signedIn({ rooms: options.rooms ?? rooms });
  render(App, { store });
  await flush();
  return { store, backend };
}

const invitation = (over: Partial<Invitation> = {}): Invitation => ({
  room: SECRET,
  from: 'bob@localhost',
  reason: 'tea <b>time</b>',
  password: 'sesame',
  kind: 'direct',
  ...over,
});

describe('invitations', () => {
  it('asks before joining: Join opens the join dialog with the room and password, never joins by itself', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    backend.roomsMock.invited(invitation());
    await flush();
    const region = screen.getByRole('region', { name: 'Invitations' });
    const prompt = within(region).getByRole('group', { name: 'bob@localhost invites you to secret@muc.localhost (tea <b>time</b>)' });
    expect(region.querySelector('b')).toBeNull();
    expect(backend.calls.some((c) => c.command === 'joinRoom')).toBe(false);
    await user.click(within(prompt).getByRole('button', { name: 'Join…' }));
    await flush();
    const dialog = screen.getByRole('dialog', { name: 'Join room' });
    expect(within(dialog).getByRole('textbox', { name: 'Room address' })).toHaveValue(SECRET);
    expect(within(dialog).getByLabelText('Room password')).toHaveValue('sesame');
    expect(screen.queryByRole('region', { name: 'Invitations' })).not.toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Join' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'joinRoom')?.args).toEqual([SECRET, 'alice', 'sesame']);
    expect(screen.getByRole('main', { name: 'Room Secret' })).toBeInTheDocument();
  });

  it('declines with decline_invitation, and shows when someone declined ours', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    const sent = invitation({ password: null, reason: null });
    backend.roomsMock.invited(sent);
    await flush();
    const prompt = screen.getByRole('group', { name: 'bob@localhost invites you to secret@muc.localhost' });
    await user.click(within(prompt).getByRole('button', { name: 'Decline' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'declineInvitation')?.args).toEqual([sent, null]);
    expect(screen.queryByRole('region', { name: 'Invitations' })).not.toBeInTheDocument();

    backend.emit({ type: 'invitation_declined', room: TEA, by: 'dave@localhost', reason: 'busy' });
    await flush();
    const declined = screen.getByText('dave@localhost declined your invitation to tea@muc.localhost: busy');
    expect(declined.closest('[role="status"]')).not.toBeNull();
    await user.click(within(declined.closest('[role="status"]') as HTMLElement).getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByText(/declined your invitation/)).toBeNull();
  });

  it('invites someone from the room header with an optional reason; a refusal stays in the dialog', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    await user.click(within(pane).getByRole('button', { name: 'Invite…' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Invite to Tea room' });
    const address = within(dialog).getByRole('textbox', { name: 'Address' });
    expect(address).toHaveFocus();
    await user.type(address, 'nodomain{Enter}');
    await flush();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('not a valid address');
    await user.clear(address);
    await user.type(address, 'dave@localhost');
    await user.type(within(dialog).getByRole('textbox', { name: 'Reason (optional)' }), 'tea?{Enter}');
    await flush();
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(backend.calls.filter((c) => c.command === 'invite').at(-1)?.args).toEqual([TEA, 'dave@localhost', 'tea?']);
    expect(within(pane).getByRole('button', { name: 'Invite…' })).toHaveFocus();
  });
});

describe('@-completion in a room', () => {
  it('finds the @word before the caret and inserts `@nick `', () => {
    expect(mentionAt('hi @ca', 6)).toEqual({ start: 3, prefix: 'ca' });
    expect(mentionAt('@b', 2)).toEqual({ start: 0, prefix: 'b' });
    expect(mentionAt('mail a@b', 8)).toBeNull();
    expect(mentionAt('hi @', 4)).toBeNull();
    expect(mentionAt('hi @ca there', 12)).toBeNull();
    expect(insertMention('hi @ca', 3, 6, 'carol')).toEqual({ text: 'hi @carol ', caret: 10 });
    expect(insertMention('hi @ca, tea?', 3, 6, 'carol')).toEqual({ text: 'hi @carol, tea?', caret: 9 });
    expect(insertMention('hi @cax more', 3, 6, 'carol')).toEqual({ text: 'hi @carol more', caret: 10 });
    expect(insertMention('@bo', 0, 3, 'Bob Smith')).toEqual({ text: '@Bob Smith ', caret: 11 });
  });

  it('offers the nicks from complete_nick in a listbox: Down, Enter inserts; Tab; Escape closes', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    const field = within(pane).getByRole('textbox', { name: 'Message' });
    await user.type(field, 'hi @c');
    await flush();
    expect(backend.calls.filter((c) => c.command === 'completeNick').at(-1)?.args).toEqual([TEA, 'c']);
    const list = within(pane).getByRole('listbox', { name: 'Nicknames' });
    const options = within(list).getAllByRole('option');
    expect(options.map((o) => o.textContent?.trim())).toEqual(['carol', 'Cedric']);
    expect(field).toHaveAttribute('aria-activedescendant', options[0].id);
    expect(options[0]).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowDown}');
    expect(field).toHaveAttribute('aria-activedescendant', options[1].id);
    await user.keyboard('{ArrowDown}');
    expect(field).toHaveAttribute('aria-activedescendant', options[0].id);
    await user.keyboard('{ArrowUp}{Enter}');
    await flush();
    expect(field).toHaveValue('hi @Cedric ');
    expect(store.drafts[TEA]).toBe('hi @Cedric ');
    expect(within(pane).queryByRole('listbox')).toBeNull();
    expect(backend.calls.some((c) => c.command === 'sendRoomMessage')).toBe(false);

    await user.type(field, 'and @b');
    await flush();
    expect(within(within(pane).getByRole('listbox', { name: 'Nicknames' })).getAllByRole('option').map((o) => o.textContent?.trim())).toEqual(['bob']);
    await user.keyboard('{Tab}');
    await flush();
    expect(field).toHaveValue('hi @Cedric and @bob ');
    expect(field).toHaveFocus();

    await user.type(field, '@a');
    await flush();
    // Our own nick is not offered: nothing matches, no list.
    expect(within(pane).queryByRole('listbox')).toBeNull();
    await user.type(field, '{Backspace}{Backspace}@c');
    await flush();
    expect(within(pane).getByRole('listbox', { name: 'Nicknames' })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(within(pane).queryByRole('listbox')).toBeNull();
    expect(field).not.toHaveAttribute('aria-activedescendant');
    await user.keyboard('{Enter}');
    await flush();
    expect(backend.calls.find((c) => c.command === 'sendRoomMessage')?.args).toEqual([TEA, 'hi @Cedric and @bob @c']);
  });

  it('offers nothing in a one-to-one conversation', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.select('bob@localhost');
    await flush();
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'hi @b');
    await flush();
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(backend.calls.some((c) => c.command === 'completeNick')).toBe(false);
  });
});

describe('bookmarks', () => {
  it('bookmarks the open room with a pressed toggle, sets autojoin, and removes it', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    const toggle = within(pane).getByRole('button', { name: 'Bookmark' });
    expect(toggle).toHaveAttribute('aria-pressed', 'false');
    expect(within(pane).queryByRole('checkbox', { name: 'Join at sign-in' })).toBeNull();
    await user.click(toggle);
    await flush();
    expect(backend.calls.find((c) => c.command === 'setBookmark')?.args).toEqual([{ room: TEA, name: 'Tea room', nick: 'alice', password: null, autojoin: false }]);
    expect(toggle).toHaveAttribute('aria-pressed', 'true');
    const autojoin = within(pane).getByRole('checkbox', { name: 'Join at sign-in' });
    expect(autojoin).not.toBeChecked();
    await user.click(autojoin);
    await flush();
    expect(backend.calls.filter((c) => c.command === 'setBookmark').at(-1)?.args).toEqual([{ room: TEA, name: 'Tea room', nick: 'alice', password: null, autojoin: true }]);
    expect(within(pane).getByRole('checkbox', { name: 'Join at sign-in' })).toBeChecked();
    // We are in the room: it is not listed again under Bookmarks.
    expect(screen.queryByRole('list', { name: 'Bookmarks' })).toBeNull();
    await user.click(toggle);
    await flush();
    expect(backend.calls.find((c) => c.command === 'removeBookmark')?.args).toEqual([TEA]);
    expect(toggle).toHaveAttribute('aria-pressed', 'false');
  });

  it('lists bookmarked rooms we are not in, as text, with Join opening the prefilled join dialog', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    await backend.setBookmark({ room: SECRET, name: 'Secret <i>club</i>', nick: 'ali', password: 'sesame', autojoin: false });
    await flush();
    const list = screen.getByRole('list', { name: 'Bookmarks' });
    const item = within(list).getByRole('listitem', { name: 'Secret <i>club</i>' });
    expect(list.querySelector('i')).toBeNull();
    await user.click(within(item).getByRole('button', { name: 'Join Secret <i>club</i>' }));
    await flush();
    const dialog = screen.getByRole('dialog', { name: 'Join room' });
    expect(within(dialog).getByRole('textbox', { name: 'Room address' })).toHaveValue(SECRET);
    expect(within(dialog).getByRole('textbox', { name: 'Nickname' })).toHaveValue('ali');
    expect(within(dialog).getByLabelText('Room password')).toHaveValue('sesame');
    await user.click(within(dialog).getByRole('button', { name: 'Join' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'joinRoom')?.args).toEqual([SECRET, 'ali', 'sesame']);
    expect(screen.queryByRole('list', { name: 'Bookmarks' })).toBeNull();
  });

  it('reads the bookmarks at sign-in', async () => {
    const { store, backend } = await signedIn({ rooms });
    await backend.setBookmark({ room: SECRET, name: null, nick: null, password: null, autojoin: true });
    store.rooms.clear();
    await store.reload();
    expect(store.rooms.bookmarksNotJoined.map((b) => b.room)).toEqual([SECRET]);
  });
});

describe('moderator retraction', () => {
  const moderated: MockRoom[] = [{ ...rooms[0], role: 'moderator' }];

  it('lets a moderator remove someone’s message after confirming, with a reason; a refusal is shown', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app({ rooms: moderated });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    const spam = backend.roomsMock.receive(TEA, 'carol', 'buy cheap tea');
    const other = backend.roomsMock.receive(TEA, 'bob', 'hello');
    await user.type(within(pane).getByRole('textbox', { name: 'Message' }), 'mine{Enter}');
    await flush();
    const log = within(pane).getByRole('log', { name: 'Messages in Tea room' });
    // Our own messages have no Remove action.
    expect(within(within(log).getByRole('article', { name: /^You, / })).queryByRole('button', { name: 'Remove message…' })).toBeNull();
    const carol = within(log).getByRole('article', { name: /^carol, / });
    await user.click(within(carol).getByRole('button', { name: 'Remove message…' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Remove carol’s message?' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Reason (optional)' }), 'spam{Enter}');
    await flush();
    expect(backend.calls.find((c) => c.command === 'retractRoomMessage')?.args).toEqual([TEA, spam.id, 'spam']);
    expect(screen.queryByRole('alertdialog')).toBeNull();
    const removed = within(log).getByRole('article', { name: /^carol, / });
    expect(within(removed).getByText('This message was removed by a moderator.')).toBeInTheDocument();
    expect(within(removed).queryByRole('button', { name: 'Remove message…' })).toBeNull();

    // The room takes our moderation away while we confirm: its refusal stays in the dialog.
    await user.click(within(within(log).getByRole('article', { name: /^bob, / })).getByRole('button', { name: 'Remove message…' }));
    backend.roomsMock.setOwnRole(TEA, 'participant');
    await flush();
    const refused = screen.getByRole('alertdialog', { name: 'Remove bob’s message?' });
    await user.click(within(refused).getByRole('button', { name: 'Remove message' }));
    await flush();
    expect(within(refused).getByRole('alert')).toHaveTextContent('You are not allowed to do that');
    expect(backend.calls.filter((c) => c.command === 'retractRoomMessage').at(-1)?.args).toEqual([TEA, other.id, null]);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(within(log).queryByRole('button', { name: 'Remove message…' })).toBeNull();
  });

  it('offers no removal to participants', async () => {
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    backend.roomsMock.receive(TEA, 'carol', 'hello');
    await flush();
    expect(screen.getByRole('article', { name: /^carol, / })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Remove message…' })).toBeNull();
  });
});

describe('private messages', () => {
  it('opens the room/nick conversation from the occupant list and sends with send_private_message', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const panel = screen.getByRole('complementary', { name: 'Occupant list' });
    expect(within(panel).queryByRole('button', { name: 'Send private message to alice' })).toBeNull();
    await user.click(within(panel).getByRole('button', { name: 'Send private message to carol' }));
    await flush();
    expect(store.selected).toBe(`${TEA}/carol`);
    const pane = screen.getByRole('main', { name: 'Conversation with carol in Tea room' });
    expect(within(pane).queryByRole('button', { name: 'Add to contacts…' })).toBeNull();
    await user.type(within(pane).getByRole('textbox', { name: 'Message' }), 'psst{Enter}');
    await flush();
    expect(backend.calls.find((c) => c.command === 'sendPrivateMessage')?.args).toEqual([TEA, 'carol', 'psst']);
    expect(backend.calls.some((c) => c.command === 'sendRoomMessage' || c.command === 'sendMessage' || c.command === 'setChatState')).toBe(false);
    expect(within(within(pane).getByRole('log', { name: 'Messages with carol in Tea room' })).getByText('psst')).toBeInTheDocument();
    const conversations = screen.getByRole('list', { name: 'Conversations' });
    expect(within(conversations).getByRole('listitem', { name: 'carol in Tea room' })).toBeInTheDocument();
  });
});

describe('room configuration', () => {
  const owned: MockRoom[] = [{ ...rooms[0], role: 'moderator', affiliation: 'owner' }];

  it('renders the form by field kind for owners, submits the answers, and shows a refusal', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app({ rooms: owned });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    const pane = screen.getByRole('main', { name: 'Room Tea room' });
    const opener = within(pane).getByRole('button', { name: 'Configure room…' });
    await user.click(opener);
    await flush();
    const dialog = screen.getByRole('dialog', { name: 'Configure Tea room' });
    const title = within(dialog).getByRole('textbox', { name: 'Room title' });
    expect(title).toHaveValue('Tea room');
    expect(title).toHaveFocus();
    expect(within(dialog).getByText('Basic settings')).toBeInTheDocument();
    expect(within(dialog).queryByDisplayValue('http://jabber.org/protocol/muc#roomconfig')).toBeNull();
    expect(within(dialog).getByRole('checkbox', { name: 'Make room persistent' })).not.toBeChecked();
    expect(within(dialog).getByRole('combobox', { name: 'Who may see real addresses' })).toHaveValue('moderators');
    const broadcast = within(dialog).getByRole('group', { name: 'Broadcast presence of' });
    expect(within(broadcast).getByRole('checkbox', { name: 'Visitors' })).not.toBeChecked();
    expect(within(broadcast).getByRole('checkbox', { name: 'Moderators' })).toBeChecked();
    const admins = within(dialog).getByRole('textbox', { name: 'Room admins' });
    expect(admins).toHaveAccessibleDescription('One address per line.');
    expect(within(dialog).getByLabelText('Password')).toHaveAttribute('type', 'password');

    // A required field left empty is said before anything is sent.
    await user.clear(title);
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Fill in: Room title.');
    expect(backend.calls.some((c) => c.command === 'submitRoomConfig')).toBe(false);

    await user.type(title, 'Tea house');
    await user.click(within(dialog).getByRole('checkbox', { name: 'Make room persistent' }));
    await user.selectOptions(within(dialog).getByRole('combobox', { name: 'Who may see real addresses' }), 'anyone');
    await user.click(within(broadcast).getByRole('checkbox', { name: 'Visitors' }));
    await user.type(admins, 'bob@localhost{Enter}{Enter}carol@localhost');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await flush();
    expect(backend.calls.find((c) => c.command === 'submitRoomConfig')?.args).toEqual([
      TEA,
      {
        FORM_TYPE: ['http://jabber.org/protocol/muc#roomconfig'],
        'muc#roomconfig_roomname': ['Tea house'],
        'muc#roomconfig_roomdesc': [],
        'muc#roomconfig_persistentroom': ['1'],
        'muc#roomconfig_whois': ['anyone'],
        'muc#roomconfig_presencebroadcast': ['moderator', 'participant', 'visitor'],
        'muc#roomconfig_roomadmins': ['bob@localhost', 'carol@localhost'],
        'muc#roomconfig_roomsecret': [],
      },
    ]);
    expect(screen.queryByRole('dialog', { name: 'Configure Tea room' })).toBeNull();
    expect(opener).toHaveFocus();

    // No longer an owner while the dialog is open: the room refuses, and the dialog says so.
    await user.click(opener);
    await flush();
    backend.roomsMock.setOwnAffiliation(TEA, 'admin');
    await flush();
    expect(within(pane).queryByRole('button', { name: 'Configure room…' })).toBeNull();
    await user.click(within(screen.getByRole('dialog', { name: 'Configure Tea room' })).getByRole('button', { name: 'Save' }));
    await flush();
    expect(within(screen.getByRole('dialog', { name: 'Configure Tea room' })).getByRole('alert')).toHaveTextContent('You are not allowed to do that');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('shows room text from the form as text, and no Configure for non-owners', async () => {
    const user = userEvent.setup();
    const { store, backend } = await app({ rooms: owned });
    backend.roomsMock.configs.set(TEA, {
      kind: 'form',
      form_type: null,
      title: '<b>Setup</b>',
      instructions: null,
      fields: [
        { var: null, label: null, kind: 'fixed', required: false, values: ['<img src=x onerror=alert(1)>'], options: [], desc: null },
        { var: 'x', label: '<i>Name</i>', kind: 'text-single', required: false, values: ['<u>v</u>'], options: [], desc: null },
      ],
    });
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    await user.click(screen.getByRole('button', { name: 'Configure room…' }));
    await flush();
    const dialog = screen.getByRole('dialog', { name: 'Configure Tea room' });
    expect(within(dialog).getByText('<b>Setup</b>')).toBeInTheDocument();
    expect(within(dialog).getByText('<img src=x onerror=alert(1)>')).toBeInTheDocument();
    expect(within(dialog).getByRole('textbox', { name: '<i>Name</i>' })).toHaveValue('<u>v</u>');
    expect(dialog.querySelector('b, img, i, u')).toBeNull();
  });

  it('offers no configuration to a room that is not ours', async () => {
    const { store } = await app();
    await store.rooms.join(TEA, 'alice', null);
    await store.select(TEA);
    await flush();
    expect(screen.queryByRole('button', { name: 'Configure room…' })).toBeNull();
  });
});

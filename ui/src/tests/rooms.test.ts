import { describe, expect, it } from 'vitest';
import type { Occupant, Room } from '../lib/bindings';
import { occupant } from '../lib/mockBackend';
import {
  defaultNick,
  defaultService,
  joinProblem,
  occupantGroups,
  powersOver,
  roomRows,
  roomStateText,
  senderNick,
} from '../lib/rooms';
import { flush, signedIn } from './fixtures';

const ROOM = 'tea@muc.localhost';

function room(change: Partial<Room> = {}): Room {
  return { jid: ROOM, nick: 'alice', name: 'Tea', subject: null, state: { state: 'joined' }, role: 'participant', affiliation: 'none', occupant_id: null, ...change };
}

describe('room logic', () => {
  it('groups occupants by role, moderators first, each by nick; empty roles and role none left out', () => {
    const list: Occupant[] = [
      occupant('zoe', 'participant'),
      occupant('Bob', 'moderator'),
      occupant('amy', 'participant'),
      occupant('eve', 'visitor'),
      occupant('gone', 'none'),
      occupant('Al', 'moderator'),
    ];
    const groups = occupantGroups(list);
    expect(groups.map((g) => [g.title, g.occupants.map((o) => o.nick)])).toEqual([
      ['Moderators', ['Al', 'Bob']],
      ['Participants', ['amy', 'zoe']],
      ['Visitors', ['eve']],
    ]);
    expect(occupantGroups([occupant('a', 'participant')]).map((g) => g.title)).toEqual(['Participants']);
  });

  it('offers the account local part as nick and muc.<domain> as service; takes the nick from a sender', () => {
    expect(defaultNick('alice@example.org')).toBe('alice');
    expect(defaultService('alice@example.org')).toBe('muc.example.org');
    expect(defaultNick(null)).toBe('');
    expect(senderNick('tea@muc.localhost/Bob Smith')).toBe('Bob Smith');
    expect(senderNick('tea@muc.localhost/a/b')).toBe('a/b');
  });

  it('says each join error in words and points at the field to change', () => {
    expect(joinProblem({ code: 'nickname_conflict', room: ROOM, nick: 'alice', message: 'x' })).toEqual({
      field: 'nick',
      text: 'The nickname “alice” is taken in this room. Choose another nickname.',
    });
    expect(joinProblem({ code: 'room_password_wrong', room: ROOM, message: 'x' }).field).toBe('password');
    expect(joinProblem({ code: 'banned_from_room', room: ROOM, message: 'x' })).toEqual({ field: null, text: 'You are banned from this room.' });
    expect(joinProblem({ code: 'members_only', room: ROOM, message: 'x' }).text).toMatch(/members only/);
    expect(joinProblem({ code: 'room_full', room: ROOM, message: 'x' }).text).toMatch(/full/);
    expect(joinProblem({ code: 'room_not_found', room: ROOM, message: 'x' })).toMatchObject({ field: 'room', text: expect.stringMatching(/does not exist/) });
    expect(joinProblem({ code: 'not_connected', message: 'Not connected.' })).toEqual({ field: null, text: 'Not connected.' });
  });

  it('tells the room state: joining, kicked by whom and why, destroyed, rejoining; nothing when joined', () => {
    expect(roomStateText(room())).toBeNull();
    expect(roomStateText(room({ state: { state: 'joining' } }))).toBe('Joining…');
    expect(roomStateText(room({ state: { state: 'left', reason: 'kicked', actor: 'Bob', text: 'spam' } }))).toBe('You were kicked by Bob: spam');
    expect(roomStateText(room({ state: { state: 'left', reason: 'kicked', actor: null, text: null } }))).toBe('You were kicked.');
    expect(roomStateText(room({ state: { state: 'left', reason: 'destroyed', text: null } }))).toBe('Room destroyed.');
    expect(roomStateText(room({ state: { state: 'left', reason: 'dropped' } }))).toMatch(/rejoining/);
  });

  it('offers moderation only where our role and affiliation allow it', () => {
    const bob = occupant('bob', 'participant', 'none', 'bob@localhost');
    expect(powersOver(room(), bob)).toEqual({ kick: false, voice: false, ban: false, member: false, admin: false, owner: false });
    const moderator = powersOver(room({ role: 'moderator' }), bob);
    expect(moderator).toMatchObject({ kick: true, voice: true, ban: false, member: false });
    const owner = powersOver(room({ role: 'moderator', affiliation: 'owner' }), bob);
    expect(owner).toEqual({ kick: true, voice: true, ban: true, member: true, admin: true, owner: true });
    // An admin cannot kick or ban an owner; nobody moderates themselves; no real JID, no ban.
    const theOwner = occupant('olga', 'moderator', 'owner', 'olga@localhost');
    expect(powersOver(room({ role: 'moderator', affiliation: 'admin' }), theOwner)).toMatchObject({ kick: false, ban: false });
    expect(powersOver(room({ role: 'moderator', affiliation: 'owner' }), occupant('alice', 'moderator', 'owner', 'a@x')).kick).toBe(false);
    expect(powersOver(room({ role: 'moderator', affiliation: 'owner' }), occupant('anon')).ban).toBe(false);
    // Out of the room: nothing.
    expect(powersOver(room({ role: 'moderator', state: { state: 'joining' } }), bob).kick).toBe(false);
  });
});

describe('room rows', () => {
  it('lists rooms by name with their unread count, filtered by name or address', () => {
    const rooms = { [ROOM]: room(), 'den@muc.localhost': room({ jid: 'den@muc.localhost', name: null }) };
    const conversations = { [ROOM]: { jid: ROOM, kind: 'room' as const, last_message: null, unread: 3, last_activity: 5 } };
    expect(roomRows(rooms, conversations, '').map((r) => [r.name, r.unread])).toEqual([
      ['den', 0],
      ['Tea', 3],
    ]);
    expect(roomRows(rooms, conversations, 'TEA').map((r) => r.jid)).toEqual([ROOM]);
    expect(roomRows(rooms, conversations, 'den@').map((r) => r.name)).toEqual(['den']);
  });
});

describe('room store', () => {
  const rooms = [{ jid: ROOM, name: 'Tea', occupants: [occupant('bob', 'moderator'), occupant('carol')] }];

  it('joins a room with its occupants, then applies occupant and room events', async () => {
    const { store, backend } = await signedIn({ rooms });
    expect(await store.rooms.join(ROOM, 'alice', null)).toBeNull();
    expect(store.rooms.rooms[ROOM].state).toEqual({ state: 'joined' });
    expect(Object.keys(store.rooms.occupants[ROOM]).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(store.isRoom(ROOM)).toBe(true);

    backend.roomsMock.occupantChanged(ROOM, occupant('dave', 'visitor'));
    backend.roomsMock.occupantLeft(ROOM, 'carol');
    store.flushEvents();
    expect(Object.keys(store.rooms.occupants[ROOM]).sort()).toEqual(['alice', 'bob', 'dave']);
    expect(store.rooms.occupants[ROOM].dave.role).toBe('visitor');

    backend.roomsMock.setState(ROOM, { state: 'left', reason: 'kicked', actor: 'bob', text: 'bye' });
    store.flushEvents();
    expect(roomStateText(store.rooms.rooms[ROOM])).toBe('You were kicked by bob: bye');
    expect(store.rooms.occupants[ROOM]).toBeUndefined();
  });

  it('sends in a room with send_room_message and lists the room apart from the conversations', async () => {
    const { store, backend } = await signedIn({ rooms });
    await store.rooms.join(ROOM, 'alice', null);
    backend.roomsMock.receive(ROOM, 'bob', 'hello room');
    store.flushEvents();
    await store.select(ROOM);
    store.editDraft(ROOM, 'hi all');
    expect(await store.send(ROOM)).toBe(true);
    expect(backend.calls.filter((c) => c.command === 'sendRoomMessage').map((c) => c.args)).toEqual([[ROOM, 'hi all']]);
    expect(backend.calls.some((c) => c.command === 'setChatState')).toBe(false);
    await flush();
    expect(store.messages[ROOM].map((m) => [m.body, m.state])).toEqual([
      ['hello room', 'none'],
      ['hi all', 'sent'],
    ]);
    expect(store.roomRows.map((r) => r.name)).toEqual(['Tea']);
    expect(store.conversationRows.map((r) => r.jid)).not.toContain(ROOM);
  });

  it('reloads rooms and occupants after sign-in; forgets them at sign-out', async () => {
    const { store } = await signedIn({ rooms });
    await store.rooms.join(ROOM, 'alice', null);
    store.rooms.rooms = {};
    await store.reload();
    expect(Object.keys(store.rooms.rooms)).toEqual([ROOM]);
    expect(Object.keys(store.rooms.occupants[ROOM]).length).toBe(3);
    await store.signOut();
    expect(store.rooms.rooms).toEqual({});
  });
});

describe('rooms that end for us', () => {
  it('a late "left" state of a room we left or failed to join does not bring it back', async () => {
    const { store, backend } = await signedIn({ rooms: [{ jid: ROOM, name: 'Tea', password: 'pw' }] });
    // Failed join: the engine reports the room as left (join_failed) after the command's answer.
    expect((await store.rooms.join(ROOM, 'alice', null))?.code).toBe('room_password_wrong');
    backend.emit({ type: 'room_changed', room: room({ state: { state: 'left', reason: 'join_failed', error: { code: 'room_password_wrong', room: ROOM, message: 'x' } } }) });
    store.flushEvents();
    expect(store.rooms.rooms[ROOM]).toBeUndefined();

    expect(await store.rooms.join(ROOM, 'alice', 'pw')).toBeNull();
    expect(store.rooms.lastJoined).toBe(ROOM);
    expect(await store.rooms.leave(ROOM)).toBeNull();
    backend.emit({ type: 'room_changed', room: room({ state: { state: 'left', reason: 'left' } }) });
    store.flushEvents();
    expect(store.roomRows).toEqual([]);

    // A room we are in that gets destroyed stays listed, saying so.
    expect(await store.rooms.join(ROOM, 'alice', 'pw')).toBeNull();
    backend.emit({ type: 'room_changed', room: room({ state: { state: 'left', reason: 'destroyed', text: null } }) });
    store.flushEvents();
    expect(roomStateText(store.rooms.rooms[ROOM])).toBe('Room destroyed.');
  });
});

describe('reloading rooms', () => {
  it('keeps what room events said while the reload waited for its answers', async () => {
    const { store, backend } = await signedIn({ rooms: [{ jid: ROOM, name: 'Tea', occupants: [occupant('bob')] }] });
    await store.rooms.join(ROOM, 'alice', null);
    const loading = store.rooms.load();
    // Bob gets voice taken while the answers are on their way (the backend still says participant).
    backend.emit({ type: 'occupants_changed', room: ROOM, changed: [occupant('bob', 'visitor')], left: [] });
    store.flushEvents();
    await loading;
    expect(store.rooms.occupants[ROOM].bob.role).toBe('visitor');
    // A quiet reload takes the backend's answer.
    await store.rooms.load();
    expect(store.rooms.occupants[ROOM].bob.role).toBe('participant');
  });
});

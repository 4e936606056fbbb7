// The group chat half of MockBackend: rooms on a pretend MUC service, with occupants, join
// errors as the engine types them, moderation (refused unless our role/affiliation allows it).

import type { AppError, Affiliation, Bookmark, Form, Invitation, Message, Occupant, Role, Room, RoomListing } from './bindings';
import type { EngineEvent } from './backend';

export interface MockRoom {
  jid: string;
  name?: string;
  subject?: string;
  password?: string;
  membersOnly?: boolean;
  banned?: boolean;
  full?: boolean;
  occupants?: Occupant[];
  /** Our role and affiliation once joined (default participant, none). */
  role?: Role;
  affiliation?: Affiliation;
}

/** What the rooms need from the mock backend. */
export interface MockHost {
  emit(event: EngineEvent): void;
  requireSession(): string;
  newId(): number;
  store(message: Message): void;
  conversationChanged(jid: string): void;
}

type Fail = (kind: Record<string, unknown> & { code: string }, message: string) => AppError;

export function occupant(nick: string, role: Role = 'participant', affiliation: Affiliation = 'none', realJid: string | null = null): Occupant {
  return { nick, role, affiliation, availability: 'available', status: null, real_jid: realJid, occupant_id: null };
}

/** A room configuration form like ejabberd's (a few fields of each kind). */
export function sampleConfig(name: string): Form {
  const field = (f: Partial<Form['fields'][number]> & Pick<Form['fields'][number], 'kind'>): Form['fields'][number] => ({
    var: null, label: null, required: false, values: [], options: [], desc: null, ...f,
  });
  return {
    kind: 'form',
    form_type: 'http://jabber.org/protocol/muc#roomconfig',
    title: 'Room configuration',
    instructions: null,
    fields: [
      field({ var: 'FORM_TYPE', kind: 'hidden', values: ['http://jabber.org/protocol/muc#roomconfig'] }),
      field({ kind: 'fixed', values: ['Basic settings'] }),
      field({ var: 'muc#roomconfig_roomname', label: 'Room title', kind: 'text-single', required: true, values: [name] }),
      field({ var: 'muc#roomconfig_roomdesc', label: 'Description', kind: 'text-multi', values: [] }),
      field({ var: 'muc#roomconfig_persistentroom', label: 'Make room persistent', kind: 'boolean', values: ['0'] }),
      field({
        var: 'muc#roomconfig_whois', label: 'Who may see real addresses', kind: 'list-single', values: ['moderators'],
        options: [{ label: 'Moderators only', value: 'moderators' }, { label: 'Anyone', value: 'anyone' }],
      }),
      field({
        var: 'muc#roomconfig_presencebroadcast', label: 'Broadcast presence of', kind: 'list-multi', values: ['moderator', 'participant'],
        options: [{ label: 'Moderators', value: 'moderator' }, { label: 'Participants', value: 'participant' }, { label: 'Visitors', value: 'visitor' }],
      }),
      field({ var: 'muc#roomconfig_roomadmins', label: 'Room admins', kind: 'jid-multi', desc: 'One address per line.', values: [] }),
      field({ var: 'muc#roomconfig_roomsecret', label: 'Password', kind: 'text-private', values: [] }),
    ],
  };
}

export class MockRooms {
  private available = new Map<string, MockRoom>();
  private joined = new Map<string, Room>();
  private members = new Map<string, Map<string, Occupant>>();
  private bookmarkList: Bookmark[] = [];

  constructor(
    rooms: MockRoom[],
    private readonly host: MockHost,
    private readonly fail: Fail,
  ) {
    for (const room of rooms) this.available.set(room.jid, structuredClone(room));
  }

  isRoom(jid: string) {
    return this.joined.has(jid) || this.available.has(jid);
  }

  /** Someone comes into (or changes in) a joined room. */
  occupantChanged(room: string, who: Occupant) {
    this.members.get(room)?.set(who.nick, who);
    this.host.emit({ type: 'occupants_changed', room, changed: [structuredClone(who)], left: [] });
  }

  occupantLeft(room: string, nick: string) {
    this.members.get(room)?.delete(nick);
    this.host.emit({ type: 'occupants_changed', room, changed: [], left: [nick] });
  }

  /** The room's state changes for us (kicked, destroyed, …). */
  setState(room: string, state: Room['state']) {
    const current = this.joined.get(room);
    if (!current) return;
    const next = { ...current, state };
    this.joined.set(room, next);
    this.host.emit({ type: 'room_changed', room: structuredClone(next) });
  }

  /** The configuration forms of rooms (tests may replace one). */
  readonly configs = new Map<string, Form>();

  async roomConfig(room: string): Promise<Form> {
    const joined = this.mustBeIn(room);
    if (joined.affiliation !== 'owner') throw this.forbidden(room);
    return structuredClone(this.configs.get(room) ?? sampleConfig(this.available.get(room)?.name ?? ''));
  }

  async submitRoomConfig(room: string, answers: Record<string, string[]>) {
    const form = await this.roomConfig(room);
    for (const field of form.fields) {
      if (field.var === null || !(field.var in answers)) continue;
      if (field.required && !answers[field.var].some((v) => v.trim())) {
        throw this.fail({ code: 'invalid_input', what: 'room configuration', reason: `${field.label ?? field.var} is required` }, `Invalid room configuration: ${field.label ?? field.var} is required`);
      }
      field.values = answers[field.var];
    }
    this.configs.set(room, form);
  }

  /** Our role in a joined room changes (a moderator took ours away, …). */
  setOwnRole(room: string, role: Role) {
    if (this.joined.has(room)) this.setRoomField(room, { role });
  }

  /** Our affiliation with a joined room changes (an owner made us an admin, …). */
  setOwnAffiliation(room: string, affiliation: Affiliation) {
    if (this.joined.has(room)) this.setRoomField(room, { affiliation });
  }

  /** An occupant writes in the room. */
  receive(room: string, nick: string, body: string, mentionsMe = false): Message {
    const message: Message = {
      id: this.host.newId(),
      conversation: room,
      direction: 'incoming',
      sender: `${room}/${nick}`,
      body,
      timestamp: Date.now(),
      origin_id: null,
      stanza_id: null,
      state: 'none',
      read: false,
      mentions_me: mentionsMe,
      retracted: false,
    };
    this.host.store(message);
    this.host.emit({ type: 'messages_received', messages: [message], catch_up: false });
    this.host.conversationChanged(room);
    return message;
  }

  async roomsOnService(service: string): Promise<RoomListing[]> {
    this.host.requireSession();
    if (!service.includes('.')) throw this.fail({ code: 'invalid_jid', input: service, reason: 'no domain' }, `'${service}' is not a valid address: no domain`);
    return [...this.available.values()]
      .filter((r) => r.jid.endsWith(`@${service}`))
      .map((r) => ({ jid: r.jid, name: r.name ?? null, occupants: r.occupants?.length ?? 0 }));
  }

  async joinRoom(jid: string, nick: string, password: string | null): Promise<Room> {
    this.host.requireSession();
    if (!jid.includes('@')) throw this.fail({ code: 'invalid_jid', input: jid, reason: 'a room address has a name before the @' }, `'${jid}' is not a valid address`);
    const spec = this.available.get(jid);
    if (!spec) throw this.fail({ code: 'room_not_found', room: jid }, `The room ${jid} does not exist.`);
    if (spec.banned) throw this.fail({ code: 'banned_from_room', room: jid }, `You are banned from ${jid}.`);
    if (spec.membersOnly) throw this.fail({ code: 'members_only', room: jid }, `${jid} is for members only, and you are not a member.`);
    if (spec.full) throw this.fail({ code: 'room_full', room: jid }, `${jid} is full.`);
    if (spec.password && spec.password !== password) throw this.fail({ code: 'room_password_wrong', room: jid }, `${jid} needs a password.`);
    if (spec.occupants?.some((o) => o.nick === nick)) throw this.fail({ code: 'nickname_conflict', room: jid, nick }, `The nickname ${nick} is already taken in ${jid}.`);
    const room: Room = {
      jid,
      nick,
      name: spec.name ?? null,
      subject: spec.subject ?? null,
      state: { state: 'joined' },
      role: spec.role ?? 'participant',
      affiliation: spec.affiliation ?? 'none',
      occupant_id: null,
    };
    this.joined.set(jid, room);
    const members = new Map((spec.occupants ?? []).map((o) => [o.nick, structuredClone(o)]));
    members.set(nick, occupant(nick, room.role, room.affiliation));
    this.members.set(jid, members);
    return structuredClone(room);
  }

  async leaveRoom(room: string) {
    this.host.requireSession();
    this.joined.delete(room);
    this.members.delete(room);
  }

  async rooms(): Promise<Room[]> {
    this.host.requireSession();
    return structuredClone([...this.joined.values()]);
  }

  async occupants(room: string): Promise<Occupant[]> {
    this.host.requireSession();
    return structuredClone([...(this.members.get(room)?.values() ?? [])]);
  }

  async sendRoomMessage(room: string, body: string): Promise<Message> {
    const account = this.host.requireSession();
    const joined = this.joined.get(room);
    if (!joined) throw this.fail({ code: 'not_in_room', room }, `You are not in the room ${room}.`);
    const message: Message = {
      id: this.host.newId(),
      conversation: room,
      direction: 'outgoing',
      sender: `${room}/${joined.nick}`,
      body,
      timestamp: Date.now(),
      origin_id: `o-${account}-${Date.now()}`,
      stanza_id: null,
      state: 'pending',
      read: true,
      mentions_me: false,
      retracted: false,
    };
    this.host.store(message);
    queueMicrotask(() => {
      message.state = 'sent';
      this.host.emit({ type: 'message_updated', id: message.id, conversation: room, state: 'sent' });
      this.host.conversationChanged(room);
    });
    return structuredClone(message);
  }

  async sendPrivateMessage(room: string, nick: string, body: string): Promise<Message> {
    const account = this.host.requireSession();
    const joined = this.mustBeIn(room);
    if (!this.members.get(room)?.has(nick)) throw this.fail({ code: 'server_error', condition: 'item-not-found', text: null }, 'The server answered with an error: item-not-found');
    const conversation = `${room}/${nick}`;
    const message: Message = {
      id: this.host.newId(),
      conversation,
      direction: 'outgoing',
      sender: `${room}/${joined.nick}`,
      body,
      timestamp: Date.now(),
      origin_id: `o-${account}-${Date.now()}`,
      stanza_id: null,
      state: 'sent',
      read: true,
      mentions_me: false,
      retracted: false,
    };
    this.host.store(message);
    this.host.conversationChanged(conversation);
    return structuredClone(message);
  }

  async changeNick(room: string, nick: string): Promise<Room> {
    const joined = this.mustBeIn(room);
    if (this.members.get(room)?.has(nick)) throw this.fail({ code: 'nickname_conflict', room, nick }, `The nickname ${nick} is already taken in ${room}.`);
    const me = this.members.get(room)!.get(joined.nick)!;
    this.occupantLeft(room, joined.nick);
    this.occupantChanged(room, { ...me, nick });
    const next = { ...joined, nick };
    this.joined.set(room, next);
    return structuredClone(next);
  }

  async setSubject(room: string, subject: string) {
    const joined = this.mustBeIn(room);
    this.requireRole(joined, 'moderator');
    this.setRoomField(room, { subject: subject || null });
  }

  async setRole(room: string, nick: string, role: Role) {
    const joined = this.mustBeIn(room);
    this.requireRole(joined, 'moderator');
    const target = this.target(room, nick);
    if (role === 'none') this.occupantLeft(room, nick);
    else this.occupantChanged(room, { ...target, role });
  }

  async kick(room: string, nick: string) {
    await this.setRole(room, nick, 'none');
  }

  async setAffiliation(room: string, jid: string, affiliation: Affiliation) {
    const joined = this.mustBeIn(room);
    if (joined.affiliation !== 'owner' && joined.affiliation !== 'admin') throw this.forbidden(room);
    const target = [...this.members.get(room)!.values()].find((o) => o.real_jid === jid);
    if (!target) return;
    if (affiliation === 'outcast') this.occupantLeft(room, target.nick);
    else this.occupantChanged(room, { ...target, affiliation });
  }

  async ban(room: string, jid: string) {
    await this.setAffiliation(room, jid, 'outcast');
  }

  async destroyRoom(room: string, reason: string | null) {
    const joined = this.mustBeIn(room);
    if (joined.affiliation !== 'owner') throw this.forbidden(room);
    this.setState(room, { state: 'left', reason: 'destroyed', text: reason });
    this.available.delete(room);
  }

  // ---- social: invitations, completion, bookmarks, moderation of messages ----

  /** Someone invites us (as the engine reports a checked invitation). */
  invited(invitation: Invitation) {
    this.host.emit({ type: 'invitation_received', invitation: structuredClone(invitation) });
  }

  async invite(room: string, jid: string) {
    this.mustBeIn(room);
    if (!jid.includes('@') && !jid.includes('.')) throw this.fail({ code: 'invalid_jid', input: jid, reason: 'no domain' }, `'${jid}' is not a valid address: no domain`);
  }

  async declineInvitation() {
    this.host.requireSession();
  }

  /** Like the engine: case-insensitive prefix (a leading @ is fine), our own nick left out. */
  async completeNick(room: string, prefix: string): Promise<string[]> {
    this.host.requireSession();
    const own = this.joined.get(room)?.nick;
    const wanted = prefix.replace(/^@/, '').toLowerCase();
    return [...(this.members.get(room)?.keys() ?? [])]
      .filter((nick) => nick !== own && nick.toLowerCase().startsWith(wanted))
      .sort((a, b) => a.localeCompare(b));
  }

  async bookmarks(): Promise<Bookmark[]> {
    this.host.requireSession();
    return structuredClone(this.bookmarkList);
  }

  async setBookmark(bookmark: Bookmark) {
    this.host.requireSession();
    this.bookmarkList = [...this.bookmarkList.filter((b) => b.room !== bookmark.room), structuredClone(bookmark)];
    this.host.emit({ type: 'bookmarks_changed', bookmarks: structuredClone(this.bookmarkList) });
  }

  async removeBookmark(room: string) {
    this.host.requireSession();
    this.bookmarkList = this.bookmarkList.filter((b) => b.room !== room);
    this.host.emit({ type: 'bookmarks_changed', bookmarks: structuredClone(this.bookmarkList) });
  }

  async retractRoomMessage(room: string, id: number, reason: string | null) {
    const joined = this.mustBeIn(room);
    this.requireRole(joined, 'moderator');
    this.host.emit({ type: 'message_retracted', id, conversation: room, reason });
  }

  private setRoomField(room: string, change: Partial<Room>) {
    const next = { ...this.joined.get(room)!, ...change };
    this.joined.set(room, next);
    this.host.emit({ type: 'room_changed', room: structuredClone(next) });
  }

  private mustBeIn(room: string): Room {
    this.host.requireSession();
    const joined = this.joined.get(room);
    if (!joined || joined.state.state !== 'joined') throw this.fail({ code: 'not_in_room', room }, `You are not in the room ${room}.`);
    return joined;
  }

  private requireRole(joined: Room, role: Role) {
    if (joined.role !== role) throw this.forbidden(joined.jid);
  }

  private target(room: string, nick: string): Occupant {
    const target = this.members.get(room)?.get(nick);
    if (!target) throw this.fail({ code: 'server_error', condition: 'item-not-found', text: null }, 'The server answered with an error: item-not-found');
    return target;
  }

  private forbidden(room: string): AppError {
    return this.fail({ code: 'room_forbidden', room, text: null }, `You are not allowed to do that in ${room}.`);
  }
}

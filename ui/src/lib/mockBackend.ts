// An in-memory Backend: the same contract as the Rust side (events, errors with `code` and
// `message`), no network. Used by Vitest and by `npm run dev` in a plain browser.

import type {
  Affiliation,
  AppError,
  Bookmark,
  ChatState,
  ConnectionState,
  ContactPresence,
  Conversation,
  Form,
  Invitation,
  Message,
  OwnPresence,
  Role,
  RosterItem,
  SearchHit,
  Settings,
  SignInRequest,
  Status,
  RoomNotify,
} from './bindings';
import type { Backend, EngineEvent, Unlisten } from './backend';
import { allowedLink } from './links';
import { MockRooms, type MockRoom } from './mockRooms';

export { occupant, type MockRoom } from './mockRooms';

export interface MockOptions {
  /** The password `signIn` accepts (any JID). */
  password?: string;
  /** When set, the first sign-in fails with this certificate until it is trusted. */
  untrustedFingerprint?: string;
  /** Start signed in as this account (as after an automatic sign-in). */
  signedInAs?: string;
  roster?: RosterItem[];
  presences?: ContactPresence[];
  messages?: Message[];
  requests?: string[];
  /** Contacts that answer every message with "echo: …". */
  echo?: string[];
  /** Contacts our messages to fail for (the server answers with an error). */
  failing?: string[];
  /** Saved settings (else the defaults). */
  settings?: Partial<Settings>;
  /** Rooms on the pretend MUC service (joinable with `joinRoom`). */
  rooms?: MockRoom[];
}

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  notifications: true,
  sounds: true,
  start_minimised: false,
  close_to_tray: true,
  start_at_login: false,
  send_read_markers: true,
  muted: [],
  room_notify: {},
};

type ErrorKind = AppError extends infer T ? (T extends unknown ? Omit<T, 'message'> : never) : never;

function err(kind: ErrorKind, message: string): AppError {
  return { ...kind, message } as AppError;
}

export class MockBackend implements Backend {
  readonly calls: { command: string; args: unknown[] }[] = [];
  private password: string;
  private untrusted: string | null;
  private trusted = false;
  private current: Status;
  private rosterItems: RosterItem[];
  private presenceMap = new Map<string, ContactPresence>();
  private messages: Message[];
  private requests: string[];
  private echo: Set<string>;
  private failing: Set<string>;
  private nextId = 1;
  private eventHandlers = new Set<(event: EngineEvent) => void>();
  private statusHandlers = new Set<(status: Status) => void>();
  private lagHandlers = new Set<(missed: number) => void>();
  private openHandlers = new Set<(jid: string) => void>();
  private saved: Settings;
  /** What the UI last reported with `setView`. */
  openConversation: string | null = null;
  /** The group chat side: test helpers too (`occupantChanged`, `receive`, `setState`, …). */
  readonly roomsMock: MockRooms;

  constructor(options: MockOptions = {}) {
    this.password = options.password ?? 'secret';
    this.untrusted = options.untrustedFingerprint ?? null;
    this.rosterItems = structuredClone(options.roster ?? []);
    for (const p of options.presences ?? []) this.presenceMap.set(p.jid, p);
    this.messages = options.messages ? [...options.messages] : [];
    this.nextId = Math.max(0, ...this.messages.map((m) => m.id)) + 1;
    this.requests = options.requests ? [...options.requests] : [];
    this.echo = new Set(options.echo ?? []);
    this.failing = new Set(options.failing ?? []);
    this.saved = { ...DEFAULT_SETTINGS, ...options.settings };
    this.roomsMock = new MockRooms(
      options.rooms ?? [],
      {
        emit: (event) => this.emit(event),
        requireSession: () => this.requireSession(),
        newId: () => this.nextId++,
        store: (message) => this.messages.push(message),
        conversationChanged: (jid) => this.emit({ type: 'conversations_changed', conversations: [this.conversationOf(jid)] }),
      },
      (kind, message) => err(kind as ErrorKind, message),
    );
    this.current = {
      phase: 'signed_out',
      account: null,
      host: null,
      port: null,
      direct_tls: false,
      ca_file: null,
      remembered: false,
      connection: null,
      own_presence: 'available',
      own_status: null,
      error: null,
    };
    if (options.signedInAs) this.becomeSignedIn(options.signedInAs, true);
  }

  private log(command: string, ...args: unknown[]) {
    this.calls.push({ command, args });
  }

  private setStatus(change: Partial<Status>) {
    this.current = { ...this.current, ...change };
    const snapshot = structuredClone(this.current);
    for (const h of this.statusHandlers) h(snapshot);
  }

  private requireSession() {
    if (this.current.phase !== 'signed_in') throw err({ code: 'not_connected' }, 'Not connected.');
    return this.current.account!;
  }

  private becomeSignedIn(jid: string, remembered: boolean) {
    this.setStatus({
      phase: 'signed_in',
      account: jid,
      remembered,
      error: null,
      connection: { state: 'online', jid: `${jid}/rapport-mock`, sasl_mechanism: 'SCRAM-SHA-1', channel_binding: false, resumed: false },
    });
  }

  // ---- test helpers ----

  /** Delivers events to the UI as the Rust side would. */
  emit(event: EngineEvent) {
    for (const h of this.eventHandlers) h(structuredClone(event));
  }

  lag(missed: number) {
    for (const h of this.lagHandlers) h(missed);
  }

  /** A contact sends us a message. */
  receive(from: string, body: string, timestamp = Date.now()): Message {
    const message: Message = {
      id: this.nextId++,
      conversation: from,
      direction: 'incoming',
      sender: `${from}/phone`,
      body,
      timestamp,
      origin_id: null,
      stanza_id: null,
      state: 'none',
      read: false,
      mentions_me: false,
      retracted: false,
    };
    this.messages.push(message);
    this.emit({ type: 'messages_received', messages: [message], catch_up: false });
    this.emit({ type: 'conversations_changed', conversations: [this.conversationOf(from)] });
    return message;
  }

  /** The connection changes (as the engine reports it); back online, pending messages go out. */
  setConnection(state: ConnectionState) {
    this.setStatus({ connection: state });
    this.emit({ type: 'connection_changed', state });
    if (state.state === 'online') {
      for (const m of this.messages) if (m.direction === 'outgoing' && m.state === 'pending') this.transmit(m);
    }
  }

  /** The contact of `jid` tells its chat state (typing, paused, …). */
  contactChatState(jid: string, state: ChatState) {
    this.emit({ type: 'chat_state_changed', conversation: jid, state });
  }

  /** A receipt or marker for our message `id` arrived (or any other delivery change). */
  updateMessage(id: number, state: Message['state']) {
    const message = this.messages.find((m) => m.id === id)!;
    message.state = state;
    this.emit({ type: 'message_updated', id, conversation: message.conversation, state });
    this.emit({ type: 'conversations_changed', conversations: [this.conversationOf(message.conversation)] });
  }

  private get online() {
    return this.current.connection?.state === 'online';
  }

  /** Our pending message goes on the wire: the server acknowledges it, or refuses it for a
   * failing contact. */
  private transmit(message: Message) {
    queueMicrotask(() => {
      if (message.state !== 'pending') return;
      const failed = this.failing.has(message.conversation);
      this.updateMessage(message.id, failed ? 'failed' : 'sent');
      if (!failed && this.echo.has(message.conversation)) setTimeout(() => this.receive(message.conversation, `echo: ${message.body}`), 300);
    });
  }

  /** A notification for `jid` was clicked. */
  clickNotification(jid: string) {
    for (const h of this.openHandlers) h(jid);
  }

  /** The settings as the backend keeps them. */
  get savedSettings(): Settings {
    return structuredClone(this.saved);
  }

  setContactPresence(presence: ContactPresence) {
    this.presenceMap.set(presence.jid, presence);
    this.emit({ type: 'presence_changed', contacts: [presence] });
  }

  private conversationOf(jid: string): Conversation {
    const messages = this.messages.filter((m) => m.conversation === jid);
    const last = messages[messages.length - 1] ?? null;
    return {
      jid,
      kind: this.roomsMock.isRoom(jid) ? 'room' : 'chat',
      last_message: last,
      unread: messages.filter((m) => m.direction === 'incoming' && !m.read).length,
      last_activity: last?.timestamp ?? 0,
    };
  }

  // ---- Backend ----

  async status() {
    this.log('status');
    return structuredClone(this.current);
  }

  async signIn(request: SignInRequest) {
    this.log('signIn', { ...request, password: '***' });
    const jid = request.jid.trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(jid)) {
      const e = err({ code: 'invalid_jid', input: request.jid, reason: 'an account address needs a user name before the @' }, `'${request.jid}' is not a valid address: an account address needs a user name before the @`);
      this.setStatus({ error: e });
      throw e;
    }
    this.setStatus({ phase: 'signing_in', account: jid, error: null });
    await Promise.resolve();
    if (this.untrusted && !this.trusted) {
      this.pendingPassword = request.password;
      this.pendingRemember = request.remember;
      const e = err(
        { code: 'untrusted_certificate', fingerprint: this.untrusted, reason: 'unknown issuer' },
        `The server's certificate is not trusted (unknown issuer). SHA-256 fingerprint: ${this.untrusted}`,
      );
      this.setStatus({ phase: 'signed_out', error: e });
      throw e;
    }
    if (request.password !== this.password) {
      const e = err({ code: 'wrong_password' }, 'The password is wrong, or the account does not exist.');
      this.setStatus({ phase: 'signed_out', error: e });
      throw e;
    }
    this.becomeSignedIn(jid, request.remember);
    return structuredClone(this.current);
  }

  private pendingPassword: string | null = null;
  private pendingRemember = false;

  async trustCertificate(fingerprint: string) {
    this.log('trustCertificate', fingerprint);
    if (!this.untrusted || fingerprint !== this.untrusted || this.pendingPassword === null) {
      throw err({ code: 'invalid_input', field: 'certificate', reason: 'no sign-in is waiting' }, 'Invalid certificate: no sign-in is waiting');
    }
    this.trusted = true;
    const password = this.pendingPassword;
    this.pendingPassword = null;
    return this.signIn({ jid: this.current.account!, password, remember: this.pendingRemember, host: null, port: null, direct_tls: false, ca_file: null });
  }

  async signOut() {
    this.log('signOut');
    this.setStatus({ phase: 'signed_out', connection: null, error: null });
    return structuredClone(this.current);
  }

  async forgetAccount(jid: string, deleteHistory: boolean) {
    this.log('forgetAccount', jid, deleteHistory);
    if (deleteHistory) this.messages = [];
    this.setStatus({ phase: 'signed_out', account: null, remembered: false, connection: null, error: null });
    return structuredClone(this.current);
  }

  async roster() {
    this.log('roster');
    this.requireSession();
    return structuredClone(this.rosterItems);
  }

  async presences() {
    this.log('presences');
    this.requireSession();
    return structuredClone([...this.presenceMap.values()]);
  }

  async subscriptionRequests() {
    this.log('subscriptionRequests');
    this.requireSession();
    return [...this.requests];
  }

  async conversations() {
    this.log('conversations');
    this.requireSession();
    const jids = [...new Set(this.messages.map((m) => m.conversation))];
    return jids.map((j) => this.conversationOf(j)).sort((a, b) => b.last_activity - a.last_activity);
  }

  async history(conversation: string, before: number | null, limit: number) {
    this.log('history', conversation, before, limit);
    this.requireSession();
    const all = this.messages.filter((m) => m.conversation === conversation && (before === null || m.id < before));
    return structuredClone(all.slice(Math.max(0, all.length - limit)));
  }

  async search(query: string, conversation: string | null, limit: number): Promise<SearchHit[]> {
    this.log('search', query, conversation, limit);
    this.requireSession();
    const q = query.toLowerCase();
    return this.messages
      .filter((m) => (conversation === null || m.conversation === conversation) && m.body.toLowerCase().includes(q))
      .slice(0, limit)
      .map((message) => {
        const at = message.body.toLowerCase().indexOf(q);
        const b = message.body;
        const snippet = [
          { text: b.slice(0, at), matched: false },
          { text: b.slice(at, at + q.length), matched: true },
          { text: b.slice(at + q.length), matched: false },
        ].filter((part) => part.text);
        return { message: structuredClone(message), snippet };
      });
  }

  async sendMessage(to: string, body: string) {
    this.log('sendMessage', to, body);
    const account = this.requireSession();
    if (!body.trim()) throw err({ code: 'invalid_input', field: 'message', reason: 'the message is empty' }, 'Invalid message: the message is empty');
    const message: Message = {
      id: this.nextId++,
      conversation: to,
      direction: 'outgoing',
      sender: `${account}/rapport-mock`,
      body,
      timestamp: Date.now(),
      origin_id: `o${this.nextId}`,
      stanza_id: null,
      state: 'pending',
      read: true,
      mentions_me: false,
      retracted: false,
    };
    this.messages.push(message);
    // Offline it waits in the outbox (see setConnection).
    if (this.online) this.transmit(message);
    return structuredClone(message);
  }

  /** Our message `id`, when it is in one of `states` (else the engine's `invalid_input`). */
  private ownMessage(id: number, states: Message['state'][], reason: string): Message {
    this.requireSession();
    const message = this.messages.find((m) => m.id === id);
    if (!message || message.direction !== 'outgoing' || !states.includes(message.state)) {
      throw err({ code: 'invalid_input', field: 'message', reason }, `Invalid message: ${reason}`);
    }
    return message;
  }

  async retryMessage(id: number) {
    this.log('retryMessage', id);
    const message = this.ownMessage(id, ['failed'], 'only a message that failed to send can be retried');
    this.updateMessage(id, 'pending');
    if (this.online) this.transmit(message);
    return structuredClone(message);
  }

  async deleteMessage(id: number) {
    this.log('deleteMessage', id);
    const message = this.ownMessage(id, ['pending', 'failed'], 'only a message that was not sent can be deleted');
    this.messages = this.messages.filter((m) => m !== message);
    this.emit({ type: 'message_deleted', id, conversation: message.conversation });
    this.emit({ type: 'conversations_changed', conversations: [this.conversationOf(message.conversation)] });
  }

  async setChatState(jid: string, state: ChatState) {
    this.log('setChatState', jid, state);
    this.requireSession();
  }

  async reconnectNow() {
    this.log('reconnectNow');
    this.requireSession();
    if (this.current.connection?.state === 'reconnecting') this.setConnection({ state: 'connecting' });
  }

  async markRead(conversation: string) {
    this.log('markRead', conversation);
    this.requireSession();
    let changed = 0;
    for (const m of this.messages) {
      if (m.conversation === conversation && !m.read) {
        m.read = true;
        changed++;
      }
    }
    if (changed) this.emit({ type: 'conversations_changed', conversations: [this.conversationOf(conversation)] });
    return changed;
  }

  async setPresence(presence: OwnPresence, status: string | null) {
    this.log('setPresence', presence, status);
    this.requireSession();
    this.setStatus({ own_presence: presence, own_status: status });
  }

  /** Like the engine's `parse_contact_jid` (a bare JID), in fewer rules. */
  private contactJid(input: string) {
    const jid = input.trim().toLowerCase();
    if (!/^([^@/\s]+@)?[^@/\s]+$/.test(jid)) {
      throw err({ code: 'invalid_jid', input, reason: 'not a bare address' }, `'${input}' is not a valid address: not a bare address`);
    }
    return jid;
  }

  private contactItem(jid: string) {
    const item = this.rosterItems.find((i) => i.jid === jid);
    if (!item) throw err({ code: 'invalid_input', field: 'contact', reason: `${jid} is not in your contacts` }, `Invalid contact: ${jid} is not in your contacts`);
    return item;
  }

  private static groups(groups: string[]) {
    return [...new Set(groups.map((g) => g.trim()).filter(Boolean))].sort();
  }

  async addContact(input: string, name: string | null, groups: string[]) {
    this.log('addContact', input, name, groups);
    const account = this.requireSession();
    const jid = this.contactJid(input);
    if (jid === account) throw err({ code: 'invalid_input', field: 'contact', reason: 'you cannot add yourself' }, 'Invalid contact: you cannot add yourself');
    const item: RosterItem = { jid, name: name?.trim() || null, groups: MockBackend.groups(groups), subscription: 'none', pending_out: true };
    this.rosterItems = [...this.rosterItems.filter((i) => i.jid !== jid), item];
    this.emit({ type: 'roster_updated', changed: [item], removed: [] });
  }

  async removeContact(jid: string) {
    this.log('removeContact', jid);
    this.requireSession();
    this.rosterItems = this.rosterItems.filter((i) => i.jid !== jid);
    this.emit({ type: 'roster_updated', changed: [], removed: [jid] });
  }

  async renameContact(jid: string, name: string | null) {
    this.log('renameContact', jid, name);
    this.requireSession();
    const item = this.contactItem(jid);
    item.name = name?.trim() || null;
    this.emit({ type: 'roster_updated', changed: [structuredClone(item)], removed: [] });
  }

  async setContactGroups(jid: string, groups: string[]) {
    this.log('setContactGroups', jid, groups);
    this.requireSession();
    const item = this.contactItem(jid);
    item.groups = MockBackend.groups(groups);
    this.emit({ type: 'roster_updated', changed: [structuredClone(item)], removed: [] });
  }

  async approveSubscription(jid: string) {
    this.log('approveSubscription', jid);
    this.requireSession();
    this.requests = this.requests.filter((r) => r !== jid);
  }

  async denySubscription(jid: string) {
    this.log('denySubscription', jid);
    this.requireSession();
    this.requests = this.requests.filter((r) => r !== jid);
  }

  async getSettings() {
    this.log('getSettings');
    return structuredClone(this.saved);
  }

  async updateSettings(settings: Settings) {
    this.log('updateSettings', structuredClone(settings));
    this.saved = { ...structuredClone(settings), muted: this.saved.muted, room_notify: this.saved.room_notify };
    return structuredClone(this.saved);
  }

  async setMuted(jid: string, muted: boolean) {
    this.log('setMuted', jid, muted);
    const others = this.saved.muted.filter((j) => j !== jid);
    this.saved = { ...this.saved, muted: muted ? [...others, jid].sort() : others };
    return structuredClone(this.saved);
  }

  async setRoomNotify(room: string, level: RoomNotify) {
    this.log('setRoomNotify', room, level);
    const room_notify = { ...this.saved.room_notify };
    if (level === 'mentions') delete room_notify[room];
    else room_notify[room] = level;
    this.saved = { ...this.saved, room_notify };
    return structuredClone(this.saved);
  }

  async setView(openConversation: string | null) {
    this.log('setView', openConversation);
    this.openConversation = openConversation;
  }

  async openLink(url: string) {
    this.log('openLink', url);
    if (!allowedLink(url)) {
      const reason = 'only http, https, xmpp and mailto links are opened';
      throw err({ code: 'link_refused', reason }, `Rapport did not open this link: ${reason}.`);
    }
  }

  // ---- group chat (mockRooms.ts) ----

  roomsOnService(service: string) { this.log('roomsOnService', service); return this.roomsMock.roomsOnService(service); }
  joinRoom(room: string, nick: string, password: string | null) { this.log('joinRoom', room, nick, password); return this.roomsMock.joinRoom(room, nick, password); }
  leaveRoom(room: string) { this.log('leaveRoom', room); return this.roomsMock.leaveRoom(room); }
  rooms() { this.log('rooms'); return this.roomsMock.rooms(); }
  occupants(room: string) { this.log('occupants', room); return this.roomsMock.occupants(room); }
  sendRoomMessage(room: string, body: string) { this.log('sendRoomMessage', room, body); return this.roomsMock.sendRoomMessage(room, body); }
  changeNick(room: string, nick: string) { this.log('changeNick', room, nick); return this.roomsMock.changeNick(room, nick); }
  setSubject(room: string, subject: string) { this.log('setSubject', room, subject); return this.roomsMock.setSubject(room, subject); }
  setRole(room: string, nick: string, role: Role, reason: string | null) { this.log('setRole', room, nick, role, reason); return this.roomsMock.setRole(room, nick, role); }
  kick(room: string, nick: string, reason: string | null) { this.log('kick', room, nick, reason); return this.roomsMock.kick(room, nick); }
  setAffiliation(room: string, jid: string, affiliation: Affiliation, reason: string | null) {
    this.log('setAffiliation', room, jid, affiliation, reason);
    return this.roomsMock.setAffiliation(room, jid, affiliation);
  }
  ban(room: string, jid: string, reason: string | null) { this.log('ban', room, jid, reason); return this.roomsMock.ban(room, jid); }
  destroyRoom(room: string, reason: string | null) { this.log('destroyRoom', room, reason); return this.roomsMock.destroyRoom(room, reason); }
  invite(room: string, jid: string, reason: string | null) { this.log('invite', room, jid, reason); return this.roomsMock.invite(room, jid); }
  declineInvitation(invitation: Invitation, reason: string | null) { this.log('declineInvitation', invitation, reason); return this.roomsMock.declineInvitation(); }
  completeNick(room: string, prefix: string) { this.log('completeNick', room, prefix); return this.roomsMock.completeNick(room, prefix); }
  bookmarks() { this.log('bookmarks'); return this.roomsMock.bookmarks(); }
  setBookmark(bookmark: Bookmark) { this.log('setBookmark', bookmark); return this.roomsMock.setBookmark(bookmark); }
  removeBookmark(room: string) { this.log('removeBookmark', room); return this.roomsMock.removeBookmark(room); }
  roomConfig(room: string): Promise<Form> { this.log('roomConfig', room); return this.roomsMock.roomConfig(room); }
  submitRoomConfig(room: string, answers: Record<string, string[]>) { this.log('submitRoomConfig', room, answers); return this.roomsMock.submitRoomConfig(room, answers); }
  sendPrivateMessage(room: string, nick: string, body: string) { this.log('sendPrivateMessage', room, nick, body); return this.roomsMock.sendPrivateMessage(room, nick, body); }
  retractRoomMessage(room: string, id: number, reason: string | null) { this.log('retractRoomMessage', room, id, reason); return this.roomsMock.retractRoomMessage(room, id, reason); }

  async onOpenConversation(handler: (jid: string) => void): Promise<Unlisten> {
    this.openHandlers.add(handler);
    return () => this.openHandlers.delete(handler);
  }

  async onEngineEvent(handler: (event: EngineEvent) => void): Promise<Unlisten> {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  async onSessionChanged(handler: (status: Status) => void): Promise<Unlisten> {
    this.statusHandlers.add(handler);
    return () => this.statusHandlers.delete(handler);
  }

  async onLagged(handler: (missed: number) => void): Promise<Unlisten> {
    this.lagHandlers.add(handler);
    return () => this.lagHandlers.delete(handler);
  }
}

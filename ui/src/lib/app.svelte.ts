// The UI's state, fed by the backend's answers and events. Components read it and call its
// methods; only this store (with the history it owns, messages.svelte.ts) talks to the Backend.
// Session, sign-in and settings are here; the lists' derivations are in contacts.ts.

import type {
  Availability,
  ContactPresence,
  Conversation,
  Message,
  OwnPresence,
  RosterItem,
  Settings,
  SignInRequest,
  Status,
  RoomNotify,
} from './bindings';
import { toUiError, type Backend, type EngineEvent, type UiError, type Unlisten } from './backend';
import {
  allGroups,
  cleanGroups,
  cleanName,
  contactGroups,
  contactRows,
  conversationRows,
  displayName,
  jumpTargets,
  type ContactDialogState,
  type ContactGroup,
  type ContactRow,
  type ConversationRow,
  type JumpTarget,
} from './contacts';
import { EventBatch, EventQueue, History, MAX_JUMP_PAGES, type Schedule, type Seen } from './messages.svelte';
import { OwnChatStates, Typing } from './chatStates.svelte';
import { RoomStore } from './roomStore.svelte';
import { roomName, roomRows } from './rooms';

export {
  addressProblem,
  cleanGroups,
  displayName,
  UNGROUPED,
  type ContactDialogState,
  type ContactGroup,
  type ContactRow,
  type ConversationRow,
  type JumpTarget,
} from './contacts';
export { BURST_INTERVAL, MAX_JUMP_PAGES, nextFrame, PAGE, setDefaultSchedule, type Schedule } from './messages.svelte';
export { PAUSED_AFTER, TYPING_TIMEOUT } from './chatStates.svelte';

/** A performance mark (`rapport:NAME`) of the boot, read by the desktop benchmark. */
export function mark(name: string) {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(`rapport:${name}`);
}

function marked<T>(name: string): (value: T) => T {
  return (value) => {
    mark(name);
    return value;
  };
}

export class AppStore {
  status = $state<Status | null>(null);
  // The big collections are raw (not deeply reactive: Svelte wraps no item in a proxy); they
  // are replaced, never mutated: a change assigns a new record (and a new array or item).
  roster = $state.raw<Record<string, RosterItem>>({});
  presence = $state.raw<Record<string, ContactPresence>>({});
  conversations = $state.raw<Record<string, Conversation>>({});
  drafts = $state<Record<string, string>>({});
  requests = $state<string[]>([]);
  selected = $state<string | null>(null);
  filter = $state('');
  /** The last error of an action that has no better place (shown in a banner). */
  error = $state<UiError | null>(null);
  /** Whether the window has the user's attention (read receipts, notifications later). */
  focused = $state(true);
  /** The app's settings (null until read from the backend). */
  settings = $state<Settings | null>(null);
  /** The open add/edit contact dialog, if any. */
  contactDialog = $state<ContactDialogState | null>(null);
  /** The contact whose removal waits for the user's confirmation. */
  confirmingRemoval = $state<string | null>(null);
  /** The message to scroll to and highlight (a new object per request, so repeats re-focus). */
  jumpTo = $state<{ conversation: string; id: number } | null>(null);
  /** Catching up with the server's archive after a new session (SyncStarted … SyncFinished). */
  syncing = $state(false);
  /** The contacts typing in their conversation with us. */
  readonly typing = new Typing();
  /** The rooms we are in and their occupants (roomStore.svelte.ts). */
  readonly rooms: RoomStore;

  /** The loaded history of open conversations. */
  private readonly history: History;
  /** Engine events received and not yet applied. */
  private readonly events: EventQueue;
  /** What we tell contacts while writing to them. */
  private readonly ownChatStates: OwnChatStates;
  private unlisten: Unlisten[] = [];
  private conversationRowCache = new WeakMap<Conversation, ConversationRow>();
  /** Counts events per kind, so a reload does not overwrite newer event data with its older answer. */
  private seen: Seen = { roster: 0, presence: 0, conversations: 0 };
  /** Conversations with a `markRead` under way, and those to check again when it is done. */
  private marking = new Set<string>();
  private markAgain = new Set<string>();
  /** A reload under way (another request waits for it and runs once after it). */
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;

  constructor(
    readonly backend: Backend,
    options: { schedule?: Schedule } = {},
  ) {
    this.history = new History(backend, (e) => void (this.error = toUiError(e)));
    this.rooms = new RoomStore(backend);
    this.events = new EventQueue((events) => this.applyEvents(events), options.schedule);
    this.ownChatStates = new OwnChatStates((jid, state) => {
      this.backend.setChatState(jid, state).catch(() => {
        /* a courtesy to the contact: nothing to show the user */
      });
    });
  }

  /** Loaded history per conversation, oldest first. */
  get messages() {
    return this.history.messages;
  }

  /** Whether older pages may exist. */
  get hasOlder() {
    return this.history.hasOlder;
  }

  get loadingOlder() {
    return this.history.loadingOlder;
  }

  get phase() {
    return this.status?.phase ?? 'signed_out';
  }

  /** Conversations with contacts, most recent activity first (rooms are listed apart). */
  get conversationRows(): ConversationRow[] {
    return conversationRows(this.conversations, this.roster, this.filter, this.conversationRowCache)
      .filter((row) => !this.isRoom(row.jid))
      .map((row) => (row.jid.includes('/') && this.privateOf(row.jid) ? { ...row, name: this.nameOf(row.jid) } : row));
  }

  /** The rooms we are in (or were removed from), by name, with their unread counts. */
  get roomRows(): ConversationRow[] {
    return roomRows(this.rooms.rooms, this.conversations, this.filter);
  }

  /** Whether `jid` is a room (one we are in, or a room's conversation). */
  isRoom(jid: string): boolean {
    return this.rooms.isRoom(jid) || this.conversations[jid]?.kind === 'room';
  }

  /** Contacts, most available first, then by name; filtered as the user types. */
  get contactRows(): ContactRow[] {
    return contactRows(this.roster, this.presence, this.filter);
  }

  /** The filtered contacts by group (a contact with several groups is under each), groups by
   * name, contacts without a group last. */
  get contactGroups(): ContactGroup[] {
    return contactGroups(this.contactRows);
  }

  /** Every group of the roster, by name (suggestions in the contact dialog). */
  get allGroups(): string[] {
    return allGroups(this.roster);
  }

  /** Conversations (most recent activity first), then the other contacts by name, matching `query`. */
  jumpTargets(query: string): JumpTarget[] {
    return jumpTargets(this.conversations, this.roster, query);
  }

  /** The room and nick of a private conversation through a room (`room@service/nick`), else null. */
  privateOf(jid: string): { room: string; nick: string } | null {
    const slash = jid.indexOf('/');
    if (slash < 0) return null;
    const room = jid.slice(0, slash);
    return this.isRoom(room) ? { room, nick: jid.slice(slash + 1) } : null;
  }

  /** Opens the private conversation with `nick` in `room`. */
  openPrivate(room: string, nick: string) {
    return this.select(`${room}/${nick}`);
  }

  nameOf(jid: string) {
    if (this.isRoom(jid)) return roomName(jid, this.rooms.rooms[jid]);
    const pm = this.privateOf(jid);
    if (pm) return `${pm.nick} in ${roomName(pm.room, this.rooms.rooms[pm.room])}`;
    return displayName(jid, this.roster[jid]);
  }

  availabilityOf(jid: string): Availability {
    return this.presence[jid]?.availability ?? 'offline';
  }

  /** Subscribes to the backend and reads the current state. The subscriptions go out together,
   * then the settings and the status together (each is a round trip to the backend, and the
   * first screen waits for them). */
  async start() {
    mark('start');
    this.unlisten.push(
      ...(await Promise.all([
        this.backend.onSessionChanged((s) => this.applyStatus(s)),
        this.backend.onEngineEvent((e) => this.handle(e)),
        this.backend.onLagged(() => void this.reload()),
        this.backend.onOpenConversation((jid) => void this.openFromNotification(jid)),
      ])),
    );
    mark('listening');
    const settings = this.backend.getSettings().then(
      (settings) => void (this.settings = settings),
      (e: unknown) => void (this.error = toUiError(e)),
    );
    const status = await this.backend.status();
    await settings;
    mark('status');
    this.applyStatus(status);
  }

  /** Saves a change of settings; returns the error, if any (the settings stay as they were). */
  async updateSettings(change: Partial<Omit<Settings, 'muted'>>): Promise<UiError | null> {
    if (!this.settings) return null;
    const previous = this.settings;
    this.settings = { ...previous, ...change };
    try {
      this.settings = await this.backend.updateSettings($state.snapshot(this.settings));
      return null;
    } catch (e) {
      this.settings = previous;
      return toUiError(e);
    }
  }

  isMuted(jid: string): boolean {
    return this.settings?.muted.includes(jid) ?? false;
  }

  async setMuted(jid: string, muted: boolean) {
    await this.run(async () => {
      this.settings = await this.backend.setMuted(jid, muted);
    });
  }

  /** Which messages of a room notify (mentions of us unless set). */
  roomNotify(room: string): RoomNotify {
    return this.settings?.room_notify[room] ?? 'mentions';
  }

  async setRoomNotify(room: string, level: RoomNotify) {
    await this.run(async () => {
      this.settings = await this.backend.setRoomNotify(room, level);
    });
  }

  /** A notification was clicked: show its conversation. */
  private async openFromNotification(jid: string) {
    if (this.phase !== 'signed_in') return;
    this.filter = '';
    await this.select(jid);
  }

  /** Tells the backend which conversation is shown (notifications skip it while focused). */
  private reportView() {
    this.backend.setView(this.selected).catch(() => {
      /* only notifications depend on it; nothing to show the user */
    });
  }

  stop() {
    for (const u of this.unlisten.splice(0)) u();
  }

  private applyStatus(status: Status) {
    const wasSignedIn = this.status?.phase === 'signed_in';
    if (status.phase === 'signed_in' && !wasSignedIn) mark('signed-in');
    this.status = status;
    if (status.phase === 'signed_in' && !wasSignedIn) void this.reload();
    if (status.phase !== 'signed_in' && wasSignedIn) this.clear();
  }

  private clear() {
    this.roster = {};
    this.presence = {};
    this.conversations = {};
    this.history.unload();
    this.events.clear();
    this.history.hasOlder = {};
    this.requests = [];
    this.selected = null;
    this.jumpTo = null;
    this.contactDialog = null;
    this.confirmingRemoval = null;
    this.syncing = false;
    this.rooms.clear();
    this.typing.clear();
    this.ownChatStates.clear();
    this.reportView();
  }

  /** Re-reads everything (after sign-in, or when events were missed). One reload at a time: a
   * request meanwhile runs once more after it. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reloadOnce();
      } while (this.reloadAgain);
    })();
    try {
      await this.reloading;
    } finally {
      this.reloading = null;
    }
  }

  private async reloadOnce() {
    try {
      const before = { ...this.seen };
      mark('reload');
      const [roster, presences, conversations, requests] = await Promise.all([
        this.backend.roster().then(marked('roster')),
        this.backend.presences().then(marked('presences')),
        this.backend.conversations().then(marked('conversations')),
        this.backend.subscriptionRequests().then(marked('requests')),
        this.rooms.load(),
      ]);
      // Events received before the answers count as seen.
      this.flushEvents();
      // Where events arrived meanwhile they are newer: keep them, add only what they lack.
      const merge = <T extends { jid: string }>(current: Record<string, T>, fresh: T[], stale: boolean) => {
        if (!stale) return Object.fromEntries(fresh.map((x) => [x.jid, x]));
        const out = { ...current };
        for (const x of fresh) if (!out[x.jid]) out[x.jid] = x;
        return out;
      };
      this.roster = merge(this.roster, roster, this.seen.roster !== before.roster);
      this.presence = merge(this.presence, presences, this.seen.presence !== before.presence);
      this.conversations = merge(this.conversations, conversations, this.seen.conversations !== before.conversations);
      this.requests = [...new Set([...this.requests, ...requests])];
      mark('reloaded');
      for (const jid of this.history.unload()) await this.history.loadLatest(jid);
    } catch (e) {
      this.error = toUiError(e);
    }
  }

  /** Signs in; on failure the error is in `status.error` (and returned) for the form. */
  async signIn(request: SignInRequest): Promise<UiError | null> {
    try {
      this.applyStatus(await this.backend.signIn(request));
      return null;
    } catch (e) {
      const error = toUiError(e);
      if (this.status) this.status = { ...this.status, phase: 'signed_out', error: error.code === 'bridge' ? null : error };
      return error;
    }
  }

  async trustCertificate(fingerprint: string): Promise<UiError | null> {
    try {
      this.applyStatus(await this.backend.trustCertificate(fingerprint));
      return null;
    } catch (e) {
      return toUiError(e);
    }
  }

  /** Forgets a pending certificate decision in the UI (the user chose Cancel). */
  dismissError() {
    if (this.status) this.status = { ...this.status, error: null };
  }

  async signOut() {
    await this.run(async () => this.applyStatus(await this.backend.signOut()));
  }

  async forgetAccount(deleteHistory: boolean) {
    const jid = this.status?.account;
    if (!jid) return;
    await this.run(async () => this.applyStatus(await this.backend.forgetAccount(jid, deleteHistory)));
  }

  private async run(action: () => Promise<void>) {
    try {
      await action();
      this.error = null;
    } catch (e) {
      this.error = toUiError(e);
    }
  }

  async select(jid: string) {
    if (this.jumpTo?.conversation !== jid) this.jumpTo = null;
    this.selected = jid;
    this.reportView();
    if (!this.messages[jid]) await this.history.loadLatest(jid);
    await this.markReadIfSeen(jid);
  }

  /** Opens a conversation at message `id`, loading older pages (up to a limit) until it is there.
   * Returns whether the message was found. */
  async openMessage(jid: string, id: number): Promise<boolean> {
    await this.select(jid);
    for (let i = 0; i < MAX_JUMP_PAGES && !this.history.has(jid, id); i++) {
      if (!(await this.loadOlder(jid))) break;
    }
    const found = this.history.has(jid, id);
    if (found && this.selected === jid) this.jumpTo = { conversation: jid, id };
    return found;
  }

  /** Loads the page before the oldest loaded message. Returns how many were added. */
  loadOlder(jid: string): Promise<number> {
    return this.history.loadOlder(jid);
  }

  /** Sets the loaded history of `jid` (a new array) and its ids. */
  setHistory(jid: string, messages: readonly Message[]) {
    this.history.setHistory(jid, messages);
  }

  /** Marks the open conversation read when the user sees it. One `markRead` per conversation
   * at a time: asked again meanwhile, it checks once more when the first is done. */
  private async markReadIfSeen(jid: string) {
    if (this.marking.has(jid)) {
      this.markAgain.add(jid);
      return;
    }
    this.marking.add(jid);
    try {
      do {
        this.markAgain.delete(jid);
        if (!(this.selected === jid && this.focused && (this.conversations[jid]?.unread ?? 0) > 0)) continue;
        try {
          await this.backend.markRead(jid);
          const c = this.conversations[jid];
          if (c) this.conversations = { ...this.conversations, [jid]: { ...c, unread: 0 } };
        } catch (e) {
          this.error = toUiError(e);
        }
      } while (this.markAgain.has(jid));
    } finally {
      this.marking.delete(jid);
    }
  }

  setFocused(focused: boolean) {
    this.focused = focused;
    if (focused && this.selected) void this.markReadIfSeen(this.selected);
  }

  /** The user changed the draft of `jid` (tells the contact we are typing, see OwnChatStates). */
  editDraft(jid: string, text: string) {
    this.drafts[jid] = text;
    // Chat states are for 1:1 conversations (a room would tell everyone).
    if (!this.isRoom(jid) && !this.privateOf(jid)) this.ownChatStates.edited(jid, text);
  }

  /** Sends the draft of `jid`; the draft is cleared only when the engine took the message (also
   * while offline: it waits, pending, in the engine's outbox). */
  async send(jid: string): Promise<boolean> {
    const body = this.drafts[jid] ?? '';
    if (!body.trim()) return false;
    try {
      const pm = this.privateOf(jid);
      const message = this.isRoom(jid)
        ? await this.backend.sendRoomMessage(jid, body)
        : pm
          ? await this.backend.sendPrivateMessage(pm.room, pm.nick, body)
          : await this.backend.sendMessage(jid, body);
      this.drafts[jid] = '';
      this.ownChatStates.sent(jid);
      // After the events received before it, in one update with them.
      this.events.push({ type: 'message_sent', message });
      this.flushEvents();
      this.error = null;
      return true;
    } catch (e) {
      this.error = toUiError(e);
      return false;
    }
  }

  /** Sends a failed message again. Its new states (pending, then sent or failed) come as events:
   * the answer may arrive after them. */
  async retry(message: Message) {
    await this.run(async () => {
      await this.backend.retryMessage(message.id);
    });
  }

  /** Deletes our own message that failed or has not left yet. */
  async deleteMessage(message: Message) {
    await this.run(async () => {
      await this.backend.deleteMessage(message.id);
      this.events.push({ type: 'message_deleted', id: message.id, conversation: message.conversation });
      this.flushEvents();
    });
  }

  /** Connects now instead of waiting for the next attempt. */
  async reconnectNow() {
    await this.run(() => this.backend.reconnectNow());
  }

  async setPresence(presence: OwnPresence, text: string | null) {
    await this.run(() => this.backend.setPresence(presence, text));
  }

  async approve(jid: string) {
    await this.run(async () => {
      await this.backend.approveSubscription(jid);
      this.requests = this.requests.filter((r) => r !== jid);
    });
  }

  async deny(jid: string) {
    await this.run(async () => {
      await this.backend.denySubscription(jid);
      this.requests = this.requests.filter((r) => r !== jid);
    });
  }

  /** Runs a contact action; returns its error for the dialog that asked (null when done). */
  private async attempt(action: () => Promise<void>): Promise<UiError | null> {
    try {
      await action();
      return null;
    } catch (e) {
      return toUiError(e);
    }
  }

  /** Adds a contact (and asks to see their presence). */
  addContact(jid: string, name: string | null, groups: string[] = []): Promise<UiError | null> {
    return this.attempt(() => this.backend.addContact(jid.trim(), cleanName(name), cleanGroups(groups)));
  }

  /** Changes a contact's name and groups (only what changed is sent). */
  editContact(jid: string, name: string | null, groups: string[]): Promise<UiError | null> {
    return this.attempt(async () => {
      const item = this.roster[jid];
      const newName = cleanName(name);
      const newGroups = cleanGroups(groups);
      if ((item?.name ?? null) !== newName) await this.backend.renameContact(jid, newName);
      if (!item || cleanGroups(item.groups).join('\n') !== newGroups.join('\n')) await this.backend.setContactGroups(jid, newGroups);
    });
  }

  removeContact(jid: string): Promise<UiError | null> {
    return this.attempt(() => this.backend.removeContact(jid));
  }

  renameContact(jid: string, name: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.renameContact(jid, cleanName(name)));
  }

  /** Opens a link the user clicked in a message (the backend checks its scheme again). */
  async openLink(url: string) {
    await this.run(() => this.backend.openLink(url));
  }

  /** Takes an engine event; events are applied together once per frame (see `flushEvents`). */
  handle(event: EngineEvent) {
    this.events.handle(event);
  }

  /** Applies the queued events in order, with one assignment per collection they change. */
  flushEvents() {
    this.events.flush();
  }

  private applyEvents(events: EngineEvent[]) {
    const { history } = this;
    const batch = new EventBatch(
      history.messages,
      this.conversations,
      this.roster,
      this.presence,
      history.ids,
      history.earlyStates,
      this.seen,
    );
    for (const event of events) {
      // A live message from a contact ends their typing.
      if (event.type === 'messages_received' && !event.catch_up) {
        for (const m of event.messages) if (m.direction === 'incoming') this.typing.hide(m.conversation);
      }
      if (batch.apply(event) || this.rooms.apply(event)) continue;
      switch (event.type) {
        case 'connection_changed':
          if (this.status) this.status = { ...this.status, connection: event.state };
          // A sync cut short by a lost connection never finishes (the next session starts
          // another), and nobody's typing is known while we are away.
          if (event.state.state !== 'online') {
            this.syncing = false;
            this.typing.clear();
          }
          break;
        case 'chat_state_changed':
          this.typing.update(event.conversation, event.state);
          break;
        case 'sync_started':
          this.syncing = true;
          break;
        case 'sync_finished':
          this.syncing = false;
          break;
        case 'subscription_request':
          if (!this.requests.includes(event.from)) this.requests = [...this.requests, event.from];
          break;
        case 'error':
          this.error = event.error;
          break;
      }
    }
    if (batch.messages !== history.messages) history.messages = batch.messages;
    if (batch.conversations !== this.conversations) this.conversations = batch.conversations;
    if (batch.roster !== this.roster) this.roster = batch.roster;
    if (batch.presence !== this.presence) this.presence = batch.presence;
    for (const jid of batch.toMark) void this.markReadIfSeen(jid);
  }
}

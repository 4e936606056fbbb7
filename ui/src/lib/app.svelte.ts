// The UI's state, fed by the backend's answers and events. Components read it and call its
// methods; only this file talks to the Backend.

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
} from './bindings';
import { toUiError, type Backend, type EngineEvent, type UiError, type Unlisten } from './backend';

export const PAGE = 50;

export interface ConversationRow {
  jid: string;
  name: string;
  lastMessage: Message | null;
  unread: number;
  lastActivity: number;
}

/** A conversation or contact the quick switcher can jump to. */
export interface JumpTarget {
  jid: string;
  name: string;
}

/** How many older pages `openMessage` loads at most to find a message. */
export const MAX_JUMP_PAGES = 20;

export interface ContactRow {
  jid: string;
  name: string;
  availability: Availability;
  status: string | null;
  groups: string[];
}

/** A contact's display name: the roster name, else the JID's local part, else the JID. */
export function displayName(jid: string, item?: RosterItem | null): string {
  const name = item?.name?.trim();
  if (name) return name;
  const at = jid.indexOf('@');
  return at > 0 ? jid.slice(0, at) : jid;
}

/** The heading of contacts without a group (shown when other contacts have groups). */
export const UNGROUPED = 'Ungrouped';

export interface ContactGroup {
  /** The group's name; `UNGROUPED` for contacts without one. */
  name: string;
  contacts: ContactRow[];
}

/** What the add/edit contact dialog shows. */
export type ContactDialogState = { mode: 'add'; jid?: string } | { mode: 'edit'; jid: string };

function cleanName(name: string | null): string | null {
  return name?.trim() || null;
}

/** `a.localeCompare(b)`, with one collator made once, on first use (a 1,000-contact sort called
 * `localeCompare` ~20,000 times at startup; making it while the bundle loads cost ~20 ms). */
let collator: Intl.Collator | null = null;
function byText(a: string, b: string): number {
  return (collator ??= new Intl.Collator()).compare(a, b);
}

/** Trimmed, without empty entries and duplicates, sorted. */
export function cleanGroups(groups: string[]): string[] {
  return [...new Set(groups.map((g) => g.trim()).filter(Boolean))].sort(byText);
}

  /** Why `input` is not a contact's address, in words; '' when it looks right. */
export function addressProblem(input: string, own: string | null): string {
  const jid = input.trim();
  if (!jid) return 'Enter the address of the contact, like name@example.org.';
  if (/\s/.test(jid)) return 'An address has no spaces.';
  if (jid.includes('/')) return 'Leave out the part from the “/” on: it names one device, not the person.';
  const at = jid.indexOf('@');
  if (at !== jid.lastIndexOf('@')) return 'An address has only one “@”.';
  if (at === 0) return 'Put the name before the “@”, like name@example.org.';
  if (at < 0 || at === jid.length - 1) return 'An address has a name, an “@” and the server, like name@example.org.';
  if (own && jid.toLowerCase() === own.toLowerCase()) return 'That is your own address.';
  return '';
}

/** Runs `work` once before the next frame is painted; events that arrive meanwhile wait for it. */
export type Schedule = (work: () => void) => void;

/** While events keep coming (a burst), they are applied at most this often, in ms: every batch
 * shown costs layouts (new rows mounted, measured, the view re-aimed at the bottom). */
export const BURST_INTERVAL = 100;
let lastFrameWork = -Infinity;

/** The next animation frame, or 100 ms when no frame comes (a hidden window gets none); not
 * sooner than `BURST_INTERVAL` after the previous work it ran. */
export const nextFrame: Schedule = (work) => {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    lastFrameWork = performance.now();
    work();
  };
  const frame = () => {
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
    setTimeout(once, 100);
  };
  const wait = lastFrameWork + BURST_INTERVAL - performance.now();
  if (wait > 0) setTimeout(frame, wait);
  else frame();
};

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

let defaultSchedule: Schedule = nextFrame;
/** For tests: how stores made from now on batch their events. */
export function setDefaultSchedule(schedule: Schedule) {
  defaultSchedule = schedule;
}

const AVAILABILITY_ORDER: Availability[] = ['chat', 'available', 'away', 'extended_away', 'do_not_disturb', 'offline'];
const AVAILABILITY_RANK = Object.fromEntries(AVAILABILITY_ORDER.map((a, i) => [a, i])) as Record<Availability, number>;

export class AppStore {
  status = $state<Status | null>(null);
  // The big collections are raw (not deeply reactive: Svelte wraps no item in a proxy); they
  // are replaced, never mutated: a change assigns a new record (and a new array or item).
  roster = $state.raw<Record<string, RosterItem>>({});
  presence = $state.raw<Record<string, ContactPresence>>({});
  conversations = $state.raw<Record<string, Conversation>>({});
  /** Loaded history per conversation, oldest first. */
  messages = $state.raw<Record<string, readonly Message[]>>({});
  /** Whether older pages may exist. */
  hasOlder = $state<Record<string, boolean>>({});
  loadingOlder = $state<Record<string, boolean>>({});
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

  private unlisten: Unlisten[] = [];
  private conversationRowCache = new WeakMap<Conversation, ConversationRow>();
  /** Delivery updates that arrived before the message itself (the send's answer can be slower
   * than the server's acknowledgement). */
  private earlyStates = new Map<number, Message['state']>();
  /** Counts events per kind, so a reload does not overwrite newer event data with its older answer. */
  private seen = { roster: 0, presence: 0, conversations: 0 };
  /** The ids in `messages`, per conversation (the dedupe of incoming messages). */
  private ids = new Map<string, Set<number>>();
  /** Events received and not yet applied: they are applied together, once per frame. */
  private queued: EngineEvent[] = [];
  private flushScheduled = false;
  /** Conversations with a `markRead` under way, and those to check again when it is done. */
  private marking = new Set<string>();
  private markAgain = new Set<string>();
  /** A reload under way (another request waits for it and runs once after it). */
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private readonly schedule: Schedule;

  constructor(
    readonly backend: Backend,
    options: { schedule?: Schedule } = {},
  ) {
    this.schedule = options.schedule ?? defaultSchedule;
  }

  get phase() {
    return this.status?.phase ?? 'signed_out';
  }

  /** Conversations, most recent activity first. */
  get conversationRows(): ConversationRow[] {
    return Object.values(this.conversations)
      .map((c) => {
        // The same row object for an unchanged conversation: the list re-renders only the rows
        // that changed (a burst changes one conversation per batch).
        const name = displayName(c.jid, this.roster[c.jid]);
        let row = this.conversationRowCache.get(c);
        if (row?.name !== name) {
          row = { jid: c.jid, name, lastMessage: c.last_message, unread: c.unread, lastActivity: c.last_activity };
          this.conversationRowCache.set(c, row);
        }
        return row;
      })
      .filter((row) => this.matches(row.jid, row.name))
      .sort((a, b) => b.lastActivity - a.lastActivity || byText(a.name, b.name));
  }

  /** Contacts, most available first, then by name; filtered as the user types. */
  get contactRows(): ContactRow[] {
    return Object.values(this.roster)
      .map((item) => {
        const p = this.presence[item.jid];
        return {
          jid: item.jid,
          name: displayName(item.jid, item),
          availability: p?.availability ?? ('offline' as Availability),
          status: p?.status ?? null,
          groups: item.groups,
        };
      })
      .filter((row) => this.matches(row.jid, row.name))
      .sort(
        (a, b) =>
          AVAILABILITY_RANK[a.availability] - AVAILABILITY_RANK[b.availability] ||
          byText(a.name, b.name),
      );
  }

  /** The filtered contacts by group (a contact with several groups is under each), groups by
   * name, contacts without a group last. */
  get contactGroups(): ContactGroup[] {
    const byGroup = new Map<string, ContactRow[]>();
    for (const row of this.contactRows) {
      for (const group of row.groups.length ? row.groups : [UNGROUPED]) {
        const list = byGroup.get(group);
        if (list) list.push(row);
        else byGroup.set(group, [row]);
      }
    }
    return [...byGroup.entries()]
      .map(([name, contacts]) => ({ name, contacts }))
      .sort((a, b) => Number(a.name === UNGROUPED) - Number(b.name === UNGROUPED) || byText(a.name, b.name));
  }

  /** Every group of the roster, by name (suggestions in the contact dialog). */
  get allGroups(): string[] {
    return cleanGroups(Object.values(this.roster).flatMap((item) => item.groups));
  }

  private matches(jid: string, name: string, filter = this.filter) {
    const f = filter.trim().toLowerCase();
    return !f || jid.toLowerCase().includes(f) || name.toLowerCase().includes(f);
  }

  /** Conversations (most recent activity first), then the other contacts by name, matching `query`. */
  jumpTargets(query: string): JumpTarget[] {
    const conversations = Object.values(this.conversations)
      .sort((a, b) => b.last_activity - a.last_activity)
      .map((c) => ({ jid: c.jid, name: this.nameOf(c.jid) }));
    const contacts = Object.values(this.roster)
      .filter((item) => !this.conversations[item.jid])
      .map((item) => ({ jid: item.jid, name: displayName(item.jid, item) }))
      .sort((a, b) => byText(a.name, b.name));
    return [...conversations, ...contacts].filter((t) => this.matches(t.jid, t.name, query));
  }

  nameOf(jid: string) {
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
    this.messages = {};
    this.ids.clear();
    this.queued = [];
    this.hasOlder = {};
    this.requests = [];
    this.selected = null;
    this.jumpTo = null;
    this.contactDialog = null;
    this.confirmingRemoval = null;
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
      const open = Object.keys(this.messages);
      this.messages = {};
      this.ids.clear();
      for (const jid of open) await this.loadLatest(jid);
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
    if (!this.messages[jid]) await this.loadLatest(jid);
    await this.markReadIfSeen(jid);
  }

  /** Opens a conversation at message `id`, loading older pages (up to a limit) until it is there.
   * Returns whether the message was found. */
  async openMessage(jid: string, id: number): Promise<boolean> {
    await this.select(jid);
    for (let i = 0; i < MAX_JUMP_PAGES && !this.messages[jid]?.some((m) => m.id === id); i++) {
      if (!(await this.loadOlder(jid))) break;
    }
    const found = this.messages[jid]?.some((m) => m.id === id) ?? false;
    if (found && this.selected === jid) this.jumpTo = { conversation: jid, id };
    return found;
  }

  private async loadLatest(jid: string) {
    try {
      const page = await this.backend.history(jid, null, PAGE);
      this.setHistory(jid, page);
      this.hasOlder[jid] = page.length === PAGE;
    } catch (e) {
      this.error = toUiError(e);
    }
  }

  /** Loads the page before the oldest loaded message. Returns how many were added. */
  async loadOlder(jid: string): Promise<number> {
    const loaded = this.messages[jid];
    if (!loaded || !this.hasOlder[jid] || this.loadingOlder[jid]) return 0;
    this.loadingOlder[jid] = true;
    try {
      const before = loaded.length ? loaded[0].id : null;
      const page = await this.backend.history(jid, before, PAGE);
      const known = this.ids.get(jid) ?? new Set(loaded.map((m) => m.id));
      const fresh = page.filter((m) => !known.has(m.id));
      this.setHistory(jid, [...fresh, ...(this.messages[jid] ?? [])]);
      this.hasOlder[jid] = page.length === PAGE;
      return fresh.length;
    } catch (e) {
      this.error = toUiError(e);
      return 0;
    } finally {
      this.loadingOlder[jid] = false;
    }
  }

  /** Sets the loaded history of `jid` (a new array) and its ids. */
  setHistory(jid: string, messages: readonly Message[]) {
    this.messages = { ...this.messages, [jid]: messages };
    this.ids.set(jid, new Set(messages.map((m) => m.id)));
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

  /** Sends the draft of `jid`; the draft is cleared only when the engine took the message. */
  async send(jid: string): Promise<boolean> {
    const body = this.drafts[jid] ?? '';
    if (!body.trim()) return false;
    try {
      const message = await this.backend.sendMessage(jid, body);
      this.drafts[jid] = '';
      // After the events received before it, in one update with them.
      this.queued.push({ type: 'message_sent', message });
      this.flushEvents();
      this.error = null;
      return true;
    } catch (e) {
      this.error = toUiError(e);
      return false;
    }
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
    this.queued.push(event);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => this.flushEvents());
  }

  /** Applies the queued events in order, with one assignment per collection they change. */
  flushEvents() {
    this.flushScheduled = false;
    const events = this.queued;
    if (!events.length) return;
    this.queued = [];
    const batch = new EventBatch(this.messages, this.conversations, this.roster, this.presence, this.ids, this.earlyStates);
    const toMark = new Set<string>();
    for (const event of events) {
      switch (event.type) {
        case 'connection_changed':
          if (this.status) this.status = { ...this.status, connection: event.state };
          break;
        case 'roster_loaded':
          this.seen.roster++;
          batch.roster = Object.fromEntries(event.items.map((i) => [i.jid, i]));
          break;
        case 'roster_updated': {
          this.seen.roster++;
          const roster = batch.rosterDraft();
          for (const item of event.changed) roster[item.jid] = item;
          for (const jid of event.removed) delete roster[jid];
          break;
        }
        case 'presence_changed': {
          this.seen.presence++;
          const presence = batch.presenceDraft();
          for (const p of event.contacts) presence[p.jid] = p;
          break;
        }
        case 'messages_received':
          batch.add(event.messages);
          for (const m of event.messages) toMark.add(m.conversation);
          break;
        case 'message_sent':
          batch.add([event.message]);
          break;
        case 'message_updated':
          batch.update(event.conversation, event.id, event.state);
          break;
        case 'conversations_changed': {
          this.seen.conversations++;
          const conversations = batch.conversationsDraft();
          for (const c of event.conversations) {
            conversations[c.jid] = c;
            toMark.add(c.jid);
          }
          break;
        }
        case 'subscription_request':
          if (!this.requests.includes(event.from)) this.requests = [...this.requests, event.from];
          break;
        case 'subscription_changed':
          break;
        case 'error':
          this.error = event.error;
          break;
      }
    }
    if (batch.messages !== this.messages) this.messages = batch.messages;
    if (batch.conversations !== this.conversations) this.conversations = batch.conversations;
    if (batch.roster !== this.roster) this.roster = batch.roster;
    if (batch.presence !== this.presence) this.presence = batch.presence;
    for (const jid of toMark) void this.markReadIfSeen(jid);
  }
}

/** The changes of one batch of events: each collection is copied once, on its first change. */
class EventBatch {
  private copied = new Set<string>();
  private draft = { messages: false, conversations: false, roster: false, presence: false };

  constructor(
    public messages: Record<string, readonly Message[]>,
    public conversations: Record<string, Conversation>,
    public roster: Record<string, RosterItem>,
    public presence: Record<string, ContactPresence>,
    private ids: Map<string, Set<number>>,
    private earlyStates: Map<number, Message['state']>,
  ) {}

  conversationsDraft() {
    if (!this.draft.conversations) [this.conversations, this.draft.conversations] = [{ ...this.conversations }, true];
    return this.conversations;
  }

  rosterDraft() {
    if (!this.draft.roster) [this.roster, this.draft.roster] = [{ ...this.roster }, true];
    return this.roster;
  }

  presenceDraft() {
    if (!this.draft.presence) [this.presence, this.draft.presence] = [{ ...this.presence }, true];
    return this.presence;
  }

  /** The history of `jid`, copied for this batch to change. */
  private list(jid: string): Message[] | undefined {
    const list = this.messages[jid];
    if (!list) return undefined;
    if (this.copied.has(jid)) return list as Message[];
    if (!this.draft.messages) [this.messages, this.draft.messages] = [{ ...this.messages }, true];
    const copy = list.slice();
    this.messages[jid] = copy;
    this.copied.add(jid);
    return copy;
  }

  private idsOf(jid: string): Set<number> {
    let ids = this.ids.get(jid);
    if (!ids) this.ids.set(jid, (ids = new Set((this.messages[jid] ?? []).map((x) => x.id))));
    return ids;
  }

  /** Appends the messages of open conversations that are not there yet, in order. */
  add(messages: Message[]) {
    for (let m of messages) {
      if (!this.messages[m.conversation]) continue; // not open: the list shows it; history loads on open
      const ids = this.idsOf(m.conversation);
      if (ids.has(m.id)) continue;
      const early = this.earlyStates.get(m.id);
      if (early) {
        this.earlyStates.delete(m.id);
        m = { ...m, state: early };
      }
      this.list(m.conversation)!.push(m);
      ids.add(m.id);
    }
  }

  /** A delivery state changed: the message (if loaded) and the conversation's last message. */
  update(jid: string, id: number, state: Message['state']) {
    const loaded = this.messages[jid];
    if (loaded) {
      if (this.idsOf(jid).has(id)) {
        const list = this.list(jid)!;
        // Updates are about recent messages: look from the end.
        for (let i = list.length - 1; i >= 0; i--) {
          if (list[i].id === id) {
            list[i] = { ...list[i], state };
            break;
          }
        }
      } else {
        this.earlyStates.set(id, state);
      }
    }
    const c = this.conversations[jid];
    if (c?.last_message?.id === id) this.conversationsDraft()[jid] = { ...c, last_message: { ...c.last_message, state } };
  }
}

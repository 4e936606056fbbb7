// The loaded history of open conversations, and how engine events reach the store: queued,
// then applied in batches, each collection copied at most once a batch.

import type { ContactPresence, Conversation, Message, RosterItem } from './bindings';
import type { Backend, EngineEvent } from './backend';

export const PAGE = 50;

/** How many older pages `openMessage` loads at most to find a message. */
export const MAX_JUMP_PAGES = 20;

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

let defaultSchedule: Schedule = nextFrame;
/** For tests: how stores made from now on batch their events. */
export function setDefaultSchedule(schedule: Schedule) {
  defaultSchedule = schedule;
}

/** Events received and not yet applied: they are applied together, once per frame. */
export class EventQueue {
  private queued: EngineEvent[] = [];
  private scheduled = false;
  private readonly schedule: Schedule;

  constructor(
    private readonly apply: (events: EngineEvent[]) => void,
    schedule?: Schedule,
  ) {
    this.schedule = schedule ?? defaultSchedule;
  }

  /** Queues `event` and, unless it already is, schedules the flush. */
  handle(event: EngineEvent) {
    this.queued.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Queues `event` after those received before it, to be applied by the next flush. */
  push(event: EngineEvent) {
    this.queued.push(event);
  }

  /** Applies the queued events in order. */
  flush() {
    this.scheduled = false;
    const events = this.queued;
    if (!events.length) return;
    this.queued = [];
    this.apply(events);
  }

  clear() {
    this.queued = [];
  }
}

/** The loaded history per open conversation, and the bookkeeping that keeps it free of repeats. */
export class History {
  /** Loaded history per conversation, oldest first (raw: replaced, never mutated). */
  messages = $state.raw<Record<string, readonly Message[]>>({});
  /** Whether older pages may exist. */
  hasOlder = $state<Record<string, boolean>>({});
  loadingOlder = $state<Record<string, boolean>>({});
  /** The ids in `messages`, per conversation (the dedupe of incoming messages). */
  readonly ids = new Map<string, Set<number>>();
  /** Delivery updates that arrived before the message itself (the send's answer can be slower
   * than the server's acknowledgement). */
  readonly earlyStates = new Map<number, Message['state']>();

  constructor(
    private readonly backend: Backend,
    /** Where a failed load reports its error. */
    private readonly fail: (e: unknown) => void,
  ) {}

  /** Whether message `id` of `jid` is loaded. */
  has(jid: string, id: number): boolean {
    return this.messages[jid]?.some((m) => m.id === id) ?? false;
  }

  async loadLatest(jid: string) {
    try {
      const page = await this.backend.history(jid, null, PAGE);
      this.setHistory(jid, page);
      this.hasOlder[jid] = page.length === PAGE;
    } catch (e) {
      this.fail(e);
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
      this.fail(e);
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

  /** Forgets the loaded history; returns the conversations that were open. */
  unload(): string[] {
    const open = Object.keys(this.messages);
    this.messages = {};
    this.ids.clear();
    return open;
  }
}

/** How many events of each kind were applied, so a reload does not overwrite newer event data
 * with its older answer. */
export type Seen = { roster: number; presence: number; conversations: number };

/** The changes of one batch of events: each collection is copied once, on its first change. */
export class EventBatch {
  /** Conversations that may have become read (checked after the batch). */
  readonly toMark = new Set<string>();
  private copied = new Set<string>();
  private draft = { messages: false, conversations: false, roster: false, presence: false };

  constructor(
    public messages: Record<string, readonly Message[]>,
    public conversations: Record<string, Conversation>,
    public roster: Record<string, RosterItem>,
    public presence: Record<string, ContactPresence>,
    private ids: Map<string, Set<number>>,
    private earlyStates: Map<number, Message['state']>,
    private seen: Seen,
  ) {}

  /** Applies an event to the collections; false for events about something else. */
  apply(event: EngineEvent): boolean {
    switch (event.type) {
      case 'roster_loaded':
        this.seen.roster++;
        this.roster = Object.fromEntries(event.items.map((i) => [i.jid, i]));
        return true;
      case 'roster_updated': {
        this.seen.roster++;
        const roster = this.rosterDraft();
        for (const item of event.changed) roster[item.jid] = item;
        for (const jid of event.removed) delete roster[jid];
        return true;
      }
      case 'presence_changed': {
        this.seen.presence++;
        const presence = this.presenceDraft();
        for (const p of event.contacts) presence[p.jid] = p;
        return true;
      }
      case 'messages_received':
        this.add(event.messages);
        for (const m of event.messages) this.toMark.add(m.conversation);
        return true;
      case 'message_sent':
        this.add([event.message]);
        return true;
      case 'message_updated':
        this.update(event.conversation, event.id, event.state);
        return true;
      case 'message_deleted':
        this.remove(event.conversation, event.id);
        return true;
      case 'message_retracted':
        this.retract(event.conversation, event.id);
        return true;
      case 'conversations_changed': {
        this.seen.conversations++;
        const conversations = this.conversationsDraft();
        for (const c of event.conversations) {
          conversations[c.jid] = c;
          this.toMark.add(c.jid);
        }
        return true;
      }
      default:
        return false;
    }
  }

  private conversationsDraft() {
    if (!this.draft.conversations) [this.conversations, this.draft.conversations] = [{ ...this.conversations }, true];
    return this.conversations;
  }

  private rosterDraft() {
    if (!this.draft.roster) [this.roster, this.draft.roster] = [{ ...this.roster }, true];
    return this.roster;
  }

  private presenceDraft() {
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
  private add(messages: Message[]) {
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

  /** Our own message was deleted (one that failed or never left). */
  private remove(jid: string, id: number) {
    this.earlyStates.delete(id);
    if (!this.messages[jid] || !this.idsOf(jid).has(id)) return;
    const list = this.list(jid)!;
    const at = list.findLastIndex((m) => m.id === id);
    if (at >= 0) list.splice(at, 1);
    this.idsOf(jid).delete(id);
  }

  /** A delivery state changed: the message (if loaded) and the conversation's last message. */
  private update(jid: string, id: number, state: Message['state']) {
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

  /** A moderator removed a message: it stays in the log as a placeholder, without its text. */
  private retract(jid: string, id: number) {
    if (!this.messages[jid] || !this.idsOf(jid).has(id)) return;
    const list = this.list(jid)!;
    const i = list.findIndex((m) => m.id === id);
    if (i >= 0) list[i] = { ...list[i], body: '', retracted: true };
  }
}

// XEP-0085 chat states, both ways: which contacts are typing in their conversation with us
// (`Typing`), and what we tell a contact while we write to them (`OwnChatStates`).

import type { ChatState } from './bindings';

/** A "typing" indicator without news for this long is stale (the contact's client may have
 * gone away without saying so), in ms. */
export const TYPING_TIMEOUT = 30_000;

/** After this long without a keystroke we tell the contact we paused, in ms. */
export const PAUSED_AFTER = 5_000;

/** The conversations whose contact is typing now. */
export class Typing {
  /** Bare JIDs of the contacts typing (raw: replaced on change). */
  jids = $state.raw<ReadonlySet<string>>(new Set());
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  isTyping(jid: string): boolean {
    return this.jids.has(jid);
  }

  /** The contact of `jid` told its chat state: composing shows the indicator, anything else
   * hides it. */
  update(jid: string, state: ChatState) {
    if (state !== 'composing') {
      this.hide(jid);
      return;
    }
    clearTimeout(this.timers.get(jid));
    this.timers.set(jid, setTimeout(() => this.hide(jid), TYPING_TIMEOUT));
    if (!this.jids.has(jid)) this.jids = new Set([...this.jids, jid]);
  }

  /** The contact stopped typing (a message from them arrived, or a state other than composing). */
  hide(jid: string) {
    clearTimeout(this.timers.get(jid));
    this.timers.delete(jid);
    if (!this.jids.has(jid)) return;
    const rest = new Set(this.jids);
    rest.delete(jid);
    this.jids = rest;
  }

  clear() {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.jids = new Set();
  }
}

/** What we told each contact, and the rule for what to tell next: composing while the draft
 * changes, paused after `PAUSED_AFTER` without a change, active when the draft is cleared or
 * sent. Only changes are told (the engine drops repeats too, but each call crosses the bridge). */
export class OwnChatStates {
  private told = new Map<string, ChatState>();
  private idle = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly tell: (jid: string, state: ChatState) => void) {}

  /** The draft of `jid` is now `draft`. */
  edited(jid: string, draft: string) {
    this.stopIdle(jid);
    if (!draft.trim()) {
      this.change(jid, 'active');
      return;
    }
    this.change(jid, 'composing');
    this.idle.set(
      jid,
      setTimeout(() => {
        this.idle.delete(jid);
        this.change(jid, 'paused');
      }, PAUSED_AFTER),
    );
  }

  /** A message to `jid` went out: the engine sent `active` with it. */
  sent(jid: string) {
    this.stopIdle(jid);
    this.told.set(jid, 'active');
  }

  clear() {
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.idle.clear();
    this.told.clear();
  }

  private change(jid: string, state: ChatState) {
    if ((this.told.get(jid) ?? 'active') === state) return;
    this.told.set(jid, state);
    this.tell(jid, state);
  }

  private stopIdle(jid: string) {
    clearTimeout(this.idle.get(jid));
    this.idle.delete(jid);
  }
}

// Contacts and conversations as the lists show them: names, groups, presence order and the
// filter. Plain functions over the store's collections.

import type { Availability, ContactPresence, Conversation, Message, RosterItem } from './bindings';

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

export function cleanName(name: string | null): string | null {
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

const AVAILABILITY_ORDER: Availability[] = ['chat', 'available', 'away', 'extended_away', 'do_not_disturb', 'offline'];
const AVAILABILITY_RANK = Object.fromEntries(AVAILABILITY_ORDER.map((a, i) => [a, i])) as Record<Availability, number>;

/** Whether the JID or the name contains `filter` (ignoring case); everything matches no filter. */
function matches(jid: string, name: string, filter: string) {
  const f = filter.trim().toLowerCase();
  return !f || jid.toLowerCase().includes(f) || name.toLowerCase().includes(f);
}

/** Conversations matching `filter`, most recent activity first. `cache` keeps the same row object
 * for an unchanged conversation: the list re-renders only the rows that changed (a burst
 * changes one conversation per batch). */
export function conversationRows(
  conversations: Record<string, Conversation>,
  roster: Record<string, RosterItem>,
  filter: string,
  cache: WeakMap<Conversation, ConversationRow>,
): ConversationRow[] {
  return Object.values(conversations)
    .map((c) => {
      const name = displayName(c.jid, roster[c.jid]);
      let row = cache.get(c);
      if (row?.name !== name) {
        row = { jid: c.jid, name, lastMessage: c.last_message, unread: c.unread, lastActivity: c.last_activity };
        cache.set(c, row);
      }
      return row;
    })
    .filter((row) => matches(row.jid, row.name, filter))
    .sort((a, b) => b.lastActivity - a.lastActivity || byText(a.name, b.name));
}

/** Contacts matching `filter`, most available first, then by name. */
export function contactRows(
  roster: Record<string, RosterItem>,
  presence: Record<string, ContactPresence>,
  filter: string,
): ContactRow[] {
  return Object.values(roster)
    .map((item) => {
      const p = presence[item.jid];
      return {
        jid: item.jid,
        name: displayName(item.jid, item),
        availability: p?.availability ?? ('offline' as Availability),
        status: p?.status ?? null,
        groups: item.groups,
      };
    })
    .filter((row) => matches(row.jid, row.name, filter))
    .sort(
      (a, b) =>
        AVAILABILITY_RANK[a.availability] - AVAILABILITY_RANK[b.availability] ||
        byText(a.name, b.name),
    );
}

/** `rows` by group (a contact with several groups is under each), groups by name, contacts
 * without a group last. */
export function contactGroups(rows: ContactRow[]): ContactGroup[] {
  const byGroup = new Map<string, ContactRow[]>();
  for (const row of rows) {
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

/** Every group of the roster, by name. */
export function allGroups(roster: Record<string, RosterItem>): string[] {
  return cleanGroups(Object.values(roster).flatMap((item) => item.groups));
}

/** Conversations (most recent activity first), then the other contacts by name, matching `query`. */
export function jumpTargets(
  conversations: Record<string, Conversation>,
  roster: Record<string, RosterItem>,
  query: string,
): JumpTarget[] {
  const open = Object.values(conversations)
    .sort((a, b) => b.last_activity - a.last_activity)
    .map((c) => ({ jid: c.jid, name: displayName(c.jid, roster[c.jid]) }));
  const others = Object.values(roster)
    .filter((item) => !conversations[item.jid])
    .map((item) => ({ jid: item.jid, name: displayName(item.jid, item) }))
    .sort((a, b) => byText(a.name, b.name));
  return [...open, ...others].filter((t) => matches(t.jid, t.name, query));
}

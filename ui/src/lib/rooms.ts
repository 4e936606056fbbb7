// Group chat as the screens show it: occupants by role, what we may do in a room, the room's
// state and join errors in words. Plain functions over the engine's DTOs (text only, never HTML).

import type { Affiliation, Conversation, Occupant, Role, Room } from './bindings';
import type { UiError } from './backend';
import type { ConversationRow } from './contacts';

/** One role's heading and its occupants, by nick. */
export interface OccupantGroup {
  role: Role;
  title: string;
  occupants: Occupant[];
}

const ROLE_TITLES: [Role, string][] = [
  ['moderator', 'Moderators'],
  ['participant', 'Participants'],
  ['visitor', 'Visitors'],
];

export const AFFILIATION_LABEL: Record<Affiliation, string> = {
  owner: 'Owner',
  admin: 'Admin',
  member: 'Member',
  outcast: 'Banned',
  none: '',
};

const AFFILIATION_RANK: Record<Affiliation, number> = { outcast: -1, none: 0, member: 1, admin: 2, owner: 3 };

let collator: Intl.Collator | null = null;
function byNick(a: Occupant, b: Occupant): number {
  return (collator ??= new Intl.Collator(undefined, { sensitivity: 'base' })).compare(a.nick, b.nick) || (a.nick < b.nick ? -1 : 1);
}

/** The occupants by role (moderators, participants, visitors; empty roles left out), each
 * sorted by nick. Occupants without a role (leaving) are not listed. */
export function occupantGroups(occupants: Iterable<Occupant>): OccupantGroup[] {
  const byRole = new Map<Role, Occupant[]>();
  for (const occupant of occupants) {
    const list = byRole.get(occupant.role);
    if (list) list.push(occupant);
    else byRole.set(occupant.role, [occupant]);
  }
  return ROLE_TITLES.filter(([role]) => byRole.get(role)?.length).map(([role, title]) => ({
    role,
    title,
    occupants: byRole.get(role)!.sort(byNick),
  }));
}

/** The nick of a room message's sender (`room@service/nick`). */
export function senderNick(sender: string): string {
  const slash = sender.indexOf('/');
  return slash >= 0 ? sender.slice(slash + 1) : sender;
}

/** The nickname offered when joining: the account's local part. */
export function defaultNick(account: string | null | undefined): string {
  const at = account?.indexOf('@') ?? -1;
  return at > 0 ? account!.slice(0, at) : '';
}

/** The MUC service offered for browsing: `muc.` + the account's domain. */
export function defaultService(account: string | null | undefined): string {
  const at = account?.indexOf('@') ?? -1;
  if (!account || at < 0) return '';
  const domain = account.slice(at + 1).split('/')[0];
  return domain ? `muc.${domain}` : '';
}

/** Which join field an error is about: the dialog asks again for that one. */
export type JoinField = 'nick' | 'password' | 'room' | null;

export interface JoinProblem {
  field: JoinField;
  text: string;
}

/** A join error in words, and the field the user should change. */
export function joinProblem(error: UiError): JoinProblem {
  switch (error.code) {
    case 'nickname_conflict':
      return { field: 'nick', text: `The nickname “${error.nick}” is taken in this room. Choose another nickname.` };
    case 'room_password_wrong':
      return { field: 'password', text: 'This room needs a password, and the one given is missing or wrong. Enter the room’s password.' };
    case 'banned_from_room':
      return { field: null, text: 'You are banned from this room.' };
    case 'members_only':
      return { field: null, text: 'This room is for members only, and you are not a member. Ask an admin of the room to add you.' };
    case 'room_full':
      return { field: null, text: 'This room is full. Try again later.' };
    case 'room_not_found':
      return { field: 'room', text: 'This room does not exist (or is locked until its owner configures it). Check the address.' };
    case 'invalid_jid':
      return { field: 'room', text: error.message };
    default:
      return { field: null, text: error.message };
  }
}

/** The room's state in words; null when joined (nothing to say). */
export function roomStateText(room: Room): string | null {
  const state = room.state;
  if (state.state === 'joined') return null;
  if (state.state === 'joining') return 'Joining…';
  const by = (actor: string | null) => (actor ? ` by ${actor}` : '');
  const why = (text: string | null) => (text ? `: ${text}` : '.');
  switch (state.reason) {
    case 'left':
      return 'You left this room.';
    case 'kicked':
      return `You were kicked${by(state.actor)}${why(state.text)}`;
    case 'banned':
      return `You were banned${by(state.actor)}${why(state.text)}`;
    case 'destroyed':
      return `Room destroyed${why(state.text)}`;
    case 'join_failed':
      return `Could not join: ${state.error.message}`;
    case 'affiliation_changed':
      return 'Your membership changed; rejoining…';
    case 'members_only':
      return 'The room became members-only; rejoining if allowed…';
    case 'service_shutdown':
      return 'The room’s service is shutting down; rejoining when it is back…';
    case 'dropped':
      return 'The room dropped us; rejoining…';
    case 'offline':
      return 'Offline; the room is rejoined when the connection is back.';
  }
}

/** Whether we are in the room now (messages can be sent and moderation is possible). */
export function isJoined(room: Room | undefined): boolean {
  return room?.state.state === 'joined';
}

/** Whether the room ended for us for good (kicked, banned, destroyed, left): join again to return. */
export function isGone(room: Room | undefined): boolean {
  if (room?.state.state !== 'left') return false;
  return ['left', 'kicked', 'banned', 'destroyed', 'join_failed'].includes(room.state.reason);
}

/** What we may do to an occupant, from our role and affiliation (the room has the last word:
 * a refusal comes back as `room_forbidden`). */
export interface Powers {
  kick: boolean;
  voice: boolean;
  ban: boolean;
  member: boolean;
  admin: boolean;
  owner: boolean;
}

export function powersOver(self: Room | undefined, target: Occupant): Powers {
  const none: Powers = { kick: false, voice: false, ban: false, member: false, admin: false, owner: false };
  if (!self || !isJoined(self) || target.nick === self.nick) return none;
  const mine = AFFILIATION_RANK[self.affiliation];
  const theirs = AFFILIATION_RANK[target.affiliation];
  const moderator = self.role === 'moderator';
  const outranked = theirs >= AFFILIATION_RANK.admin && mine <= theirs;
  const hasJid = !!target.real_jid;
  return {
    kick: moderator && !outranked && target.role !== 'moderator',
    voice: moderator && !outranked && target.role !== 'moderator',
    ban: mine >= AFFILIATION_RANK.admin && mine > theirs && hasJid,
    member: mine >= AFFILIATION_RANK.admin && mine > theirs && hasJid,
    admin: mine === AFFILIATION_RANK.owner && hasJid,
    owner: mine === AFFILIATION_RANK.owner && hasJid,
  };
}

/** Moderators may change the subject (rooms may allow everyone; the room refuses otherwise). */
export function maySetSubject(room: Room | undefined): boolean {
  return isJoined(room) && room!.role === 'moderator';
}

/** Whether we may remove others' messages (XEP-0425): moderators of a room we are in. */
export function mayRetract(room: Room | undefined): boolean {
  return isJoined(room) && room!.role === 'moderator';
}

export function mayDestroy(room: Room | undefined): boolean {
  return isJoined(room) && room!.affiliation === 'owner';
}

/** A room's display name: its name, else the local part of its address. */
export function roomName(jid: string, room?: Room | null): string {
  const name = room?.name?.trim();
  if (name) return name;
  const at = jid.indexOf('@');
  return at > 0 ? jid.slice(0, at) : jid;
}

/** The rooms as the sidebar lists them: by name, with their conversation's last message and
 * unread count, matching `filter` (name or address, ignoring case). */
export function roomRows(rooms: Record<string, Room>, conversations: Record<string, Conversation>, filter: string): ConversationRow[] {
  const f = filter.trim().toLowerCase();
  return Object.values(rooms)
    .map((room) => {
      const c = conversations[room.jid];
      const name = roomName(room.jid, room);
      return { jid: room.jid, name, lastMessage: c?.last_message ?? null, unread: c?.unread ?? 0, lastActivity: c?.last_activity ?? 0 };
    })
    .filter((row) => !f || row.name.toLowerCase().includes(f) || row.jid.toLowerCase().includes(f))
    .sort((a, b) => a.name.localeCompare(b.name));
}

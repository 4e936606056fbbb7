// The rooms we are in and who is in them, fed by the backend's answers and the engine's
// `room_changed` / `occupants_changed` events (applied with the other events, once per frame).
// The collections are raw and replaced per change, like the app store's.

import type { Affiliation, Bookmark, Form, Invitation, Occupant, Role, Room, RoomListing } from './bindings';
import { toUiError, type Backend, type EngineEvent, type UiError } from './backend';

export class RoomStore {
  rooms = $state.raw<Record<string, Room>>({});
  /** Occupants per room, by nick. */
  occupants = $state.raw<Record<string, Record<string, Occupant>>>({});
  /** Whether the join dialog is open (and what it starts with). */
  joinDialog = $state<{ room?: string; password?: string; nick?: string } | null>(null);
  /** Invitations waiting for the user's answer (never joined by themselves). */
  invitations = $state.raw<Invitation[]>([]);
  /** A short word about the last invitation someone declined (or null). */
  declined = $state<string | null>(null);
  /** The user's bookmarked rooms, by room address. */
  bookmarks = $state.raw<Record<string, Bookmark>>({});

  /** The room the last successful `join` joined (its address as the engine writes it). */
  lastJoined: string | null = null;
  /** Rooms we left, or failed to join from the dialog (which said why): their late `left`
   * states must not bring them back to the list. */
  private dismissed = new Set<string>();
  /** Room events applied so far (a reload keeps what arrived while it waited). */
  private applied = 0;
  /** `bookmarks_changed` events applied so far (a reload's older answer does not win). */
  private bookmarkEvents = 0;

  constructor(private readonly backend: Backend) {}

  isRoom(jid: string): boolean {
    return jid in this.rooms;
  }

  /** Reads the rooms and their occupants (after sign-in, or when events were missed). */
  async load() {
    const before = this.applied;
    const bookmarkEvents = this.bookmarkEvents;
    const [rooms, bookmarks] = await Promise.all([this.backend.rooms(), this.backend.bookmarks().catch(() => null)]);
    if (bookmarks && bookmarkEvents === this.bookmarkEvents) this.bookmarks = byRoom(bookmarks);
    const lists = await Promise.all(rooms.map((room) => this.backend.occupants(room.jid)));
    const fresh = Object.fromEntries(rooms.map((room) => [room.jid, room]));
    const freshOccupants = Object.fromEntries(rooms.map((room, i) => [room.jid, byNick(lists[i])]));
    // Events applied meanwhile are newer than the answers: they win.
    const stale = this.applied !== before;
    this.rooms = stale ? { ...fresh, ...this.rooms } : fresh;
    this.occupants = stale ? { ...freshOccupants, ...this.occupants } : freshOccupants;
  }

  clear() {
    this.dismissed.clear();
    this.lastJoined = null;
    this.rooms = {};
    this.occupants = {};
    this.joinDialog = null;
    this.invitations = [];
    this.declined = null;
    this.bookmarks = {};
  }

  /** Applies a room event; false for other events. */
  apply(event: EngineEvent): boolean {
    switch (event.type) {
      case 'room_changed':
        this.applied++;
        this.setRoom(event.room);
        return true;
      case 'occupants_changed':
        this.applied++;
        this.changeOccupants(event.room, event.changed, event.left);
        return true;
      case 'invitation_received': {
        const { room, from } = event.invitation;
        const others = this.invitations.filter((i) => !(i.room === room && i.from === from));
        this.invitations = [...others, event.invitation];
        return true;
      }
      case 'invitation_declined':
        this.declined = `${event.by} declined your invitation to ${event.room}${event.reason ? `: ${event.reason}` : '.'}`;
        return true;
      case 'bookmarks_changed':
        this.bookmarkEvents++;
        this.bookmarks = byRoom(event.bookmarks);
        return true;
      default:
        return false;
    }
  }

  private setRoom(room: Room) {
    if (room.state.state === 'left' && (this.dismissed.has(room.jid) || !this.rooms[room.jid])) {
      this.forget(room.jid);
      return;
    }
    this.rooms = { ...this.rooms, [room.jid]: room };
    // Out of the room, nobody is known to be in it.
    if (room.state.state === 'left' && this.occupants[room.jid]) {
      const { [room.jid]: _, ...rest } = this.occupants;
      this.occupants = rest;
    }
  }

  private changeOccupants(room: string, changed: Occupant[], left: string[]) {
    const list = { ...(this.occupants[room] ?? {}) };
    for (const nick of left) delete list[nick];
    for (const occupant of changed) list[occupant.nick] = occupant;
    this.occupants = { ...this.occupants, [room]: list };
  }

  private async attempt(action: () => Promise<unknown>): Promise<UiError | null> {
    try {
      await action();
      return null;
    } catch (e) {
      return toUiError(e);
    }
  }

  async browse(service: string): Promise<RoomListing[] | UiError> {
    try {
      return await this.backend.roomsOnService(service.trim());
    } catch (e) {
      return toUiError(e);
    }
  }

  /** Joins a room; on success it is in `rooms` (joined) with its occupants. */
  join(room: string, nick: string, password: string | null): Promise<UiError | null> {
    const key = room.trim().toLowerCase();
    this.dismissed.delete(key);
    return this.attempt(async () => {
      const joined = await this.backend.joinRoom(room.trim(), nick.trim(), password || null).catch((e: unknown) => {
        this.dismissFailedJoin(key);
        throw e;
      });
      this.dismissed.delete(joined.jid);
      this.lastJoined = joined.jid;
      this.setRoom(joined);
      const occupants = await this.backend.occupants(joined.jid);
      this.occupants = { ...this.occupants, [joined.jid]: { ...byNick(occupants), ...(this.occupants[joined.jid] ?? {}) } };
    });
  }

  /** The dialog says why the join failed: the room is not listed (unless we are in it). */
  private dismissFailedJoin(key: string) {
    this.dismissed.add(key);
    if (this.rooms[key]?.state.state !== 'joined') this.forget(key);
  }

  /** Leaves for good: the room goes from the list (its history stays). */
  leave(room: string): Promise<UiError | null> {
    return this.attempt(async () => {
      await this.backend.leaveRoom(room);
      this.dismissed.add(room);
      this.forget(room);
    });
  }

  /** Drops a room from the list (we left it, or it ended for us: kicked, banned, destroyed). */
  forget(room: string) {
    const { [room]: _, ...rooms } = this.rooms;
    const { [room]: __, ...occupants } = this.occupants;
    this.rooms = rooms;
    this.occupants = occupants;
  }

  changeNick(room: string, nick: string): Promise<UiError | null> {
    return this.attempt(async () => this.setRoom(await this.backend.changeNick(room, nick.trim())));
  }

  setSubject(room: string, subject: string): Promise<UiError | null> {
    return this.attempt(() => this.backend.setSubject(room, subject));
  }

  kick(room: string, nick: string, reason: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.kick(room, nick, reason));
  }

  setRole(room: string, nick: string, role: Role): Promise<UiError | null> {
    return this.attempt(() => this.backend.setRole(room, nick, role, null));
  }

  ban(room: string, jid: string, reason: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.ban(room, jid, reason));
  }

  setAffiliation(room: string, jid: string, affiliation: Affiliation): Promise<UiError | null> {
    return this.attempt(() => this.backend.setAffiliation(room, jid, affiliation, null));
  }

  destroy(room: string, reason: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.destroyRoom(room, reason));
  }

  invite(room: string, jid: string, reason: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.invite(room, jid.trim(), reason?.trim() || null));
  }

  /** Answers an invitation with Join: the join dialog opens with its room (and password). */
  acceptInvitation(invitation: Invitation) {
    this.dropInvitation(invitation);
    this.joinDialog = { room: invitation.room, ...(invitation.password ? { password: invitation.password } : {}) };
  }

  declineInvitation(invitation: Invitation): Promise<UiError | null> {
    return this.attempt(async () => {
      await this.backend.declineInvitation(invitation, null);
      this.dropInvitation(invitation);
    });
  }

  private dropInvitation(invitation: Invitation) {
    this.invitations = this.invitations.filter((i) => i !== invitation);
  }

  /** The nicks to offer for `@prefix` in a room (the engine's completion). */
  async completeNick(room: string, prefix: string): Promise<string[]> {
    try {
      return await this.backend.completeNick(room, prefix);
    } catch {
      return [];
    }
  }

  /** Bookmarked rooms we are not in, by name. */
  get bookmarksNotJoined(): Bookmark[] {
    return Object.values(this.bookmarks)
      .filter((b) => this.rooms[b.room]?.state.state !== 'joined')
      .sort((a, b) => (a.name ?? a.room).localeCompare(b.name ?? b.room));
  }

  /** Opens the join dialog for a bookmark (its nick and password filled in). */
  joinBookmark(bookmark: Bookmark) {
    this.joinDialog = { room: bookmark.room, ...(bookmark.nick ? { nick: bookmark.nick } : {}), ...(bookmark.password ? { password: bookmark.password } : {}) };
  }

  /** Bookmarks a room we are in (name and nick from the room; an existing password kept). */
  bookmarkRoom(room: string, autojoin: boolean): Promise<UiError | null> {
    const joined = this.rooms[room];
    const existing = this.bookmarks[room];
    return this.setBookmark({
      room,
      name: joined?.name ?? existing?.name ?? null,
      nick: joined?.nick ?? existing?.nick ?? null,
      password: existing?.password ?? null,
      autojoin,
    });
  }

  setBookmark(bookmark: Bookmark): Promise<UiError | null> {
    return this.attempt(() => this.backend.setBookmark(bookmark));
  }

  removeBookmark(room: string): Promise<UiError | null> {
    return this.attempt(() => this.backend.removeBookmark(room));
  }

  async roomConfig(room: string): Promise<Form | UiError> {
    try {
      return await this.backend.roomConfig(room);
    } catch (e) {
      return toUiError(e);
    }
  }

  submitRoomConfig(room: string, answers: Record<string, string[]>): Promise<UiError | null> {
    return this.attempt(() => this.backend.submitRoomConfig(room, answers));
  }

  retract(room: string, id: number, reason: string | null): Promise<UiError | null> {
    return this.attempt(() => this.backend.retractRoomMessage(room, id, reason?.trim() || null));
  }
}

function byRoom(bookmarks: Bookmark[]): Record<string, Bookmark> {
  return Object.fromEntries(bookmarks.map((b) => [b.room, b]));
}

function byNick(occupants: Occupant[]): Record<string, Occupant> {
  return Object.fromEntries(occupants.map((o) => [o.nick, o]));
}

// The one interface the UI talks to. `TauriBackend` calls the Rust commands of
// src-tauri/src/commands.rs; `MockBackend` (mockBackend.ts) keeps everything in memory for
// Vitest and for running the UI in a plain browser (`npm run dev`).

import type {
  Affiliation,
  AppError,
  Bookmark,
  ChatState,
  ContactPresence,
  Conversation,
  Event as EngineEvent,
  Form,
  Invitation,
  Message,
  Occupant,
  OwnPresence,
  Role,
  Room,
  RoomListing,
  RosterItem,
  SearchHit,
  Settings,
  SignInRequest,
  Status,
  RoomNotify,
} from './bindings';
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';

export type { EngineEvent };
export type Unlisten = () => void;

/** An error from a command: the engine's `{code, ...fields, message}`, or a bridge failure. */
export type UiError = AppError | { code: 'bridge'; message: string };

export interface Backend {
  status(): Promise<Status>;
  signIn(request: SignInRequest): Promise<Status>;
  trustCertificate(fingerprint: string): Promise<Status>;
  signOut(): Promise<Status>;
  forgetAccount(jid: string, deleteHistory: boolean): Promise<Status>;

  roster(): Promise<RosterItem[]>;
  presences(): Promise<ContactPresence[]>;
  subscriptionRequests(): Promise<string[]>;
  conversations(): Promise<Conversation[]>;
  /** The `limit` messages before message id `before` (or the latest), oldest first. */
  history(conversation: string, before: number | null, limit: number): Promise<Message[]>;
  search(query: string, conversation: string | null, limit: number): Promise<SearchHit[]>;

  /** Stores the message (pending) and sends it, now or once connected. */
  sendMessage(to: string, body: string): Promise<Message>;
  /** Sends a failed message again; it becomes pending. */
  retryMessage(id: number): Promise<Message>;
  /** Deletes our own message that failed or is still pending. */
  deleteMessage(id: number): Promise<void>;
  /** Tells the contact what we are doing in the conversation (typing, paused, active). */
  setChatState(jid: string, state: ChatState): Promise<void>;
  /** Skips the rest of the wait before the next connection attempt. */
  reconnectNow(): Promise<void>;
  markRead(conversation: string): Promise<number>;
  setPresence(presence: OwnPresence, status: string | null): Promise<void>;
  addContact(jid: string, name: string | null, groups: string[]): Promise<void>;
  removeContact(jid: string): Promise<void>;
  renameContact(jid: string, name: string | null): Promise<void>;
  /** Replaces the groups of a contact in the roster (its name stays). */
  setContactGroups(jid: string, groups: string[]): Promise<void>;
  approveSubscription(jid: string): Promise<void>;
  denySubscription(jid: string): Promise<void>;

  getSettings(): Promise<Settings>;
  /** Saves the preferences (the muted list is left as it is); returns what is now saved. */
  updateSettings(settings: Settings): Promise<Settings>;
  /** Mutes or unmutes one conversation's notifications; returns the settings. */
  setMuted(jid: string, muted: boolean): Promise<Settings>;
  setRoomNotify(room: string, level: RoomNotify): Promise<Settings>;
  /** Tells the backend which conversation the window shows (for notifications). */
  setView(openConversation: string | null): Promise<void>;
  /** Opens a link from a message with the system's handler (http, https, xmpp, mailto only;
   * anything else is refused with `link_refused`). */
  openLink(url: string): Promise<void>;

  // Group chat (XEP-0045).
  /** The rooms a MUC service lists (name and, for the first few, occupant count). */
  roomsOnService(service: string): Promise<RoomListing[]>;
  /** Joins (or creates) a room; answers once joined, or with the join error. */
  joinRoom(room: string, nick: string, password: string | null): Promise<Room>;
  leaveRoom(room: string): Promise<void>;
  rooms(): Promise<Room[]>;
  occupants(room: string): Promise<Occupant[]>;
  sendRoomMessage(room: string, body: string): Promise<Message>;
  changeNick(room: string, nick: string): Promise<Room>;
  setSubject(room: string, subject: string): Promise<void>;
  setRole(room: string, nick: string, role: Role, reason: string | null): Promise<void>;
  kick(room: string, nick: string, reason: string | null): Promise<void>;
  setAffiliation(room: string, jid: string, affiliation: Affiliation, reason: string | null): Promise<void>;
  ban(room: string, jid: string, reason: string | null): Promise<void>;
  destroyRoom(room: string, reason: string | null): Promise<void>;
  /** Invites someone (a bare JID) into a room we are in. */
  invite(room: string, jid: string, reason: string | null): Promise<void>;
  /** Declines an invitation received in `invitation_received`. */
  declineInvitation(invitation: Invitation, reason: string | null): Promise<void>;
  /** The nicks in the room starting with `prefix` (the engine's completion rules). */
  completeNick(room: string, prefix: string): Promise<string[]>;
  bookmarks(): Promise<Bookmark[]>;
  /** Adds or replaces the room's bookmark (the new list comes as `bookmarks_changed`). */
  setBookmark(bookmark: Bookmark): Promise<void>;
  removeBookmark(room: string): Promise<void>;
  /** A moderator removes someone's message from the room (comes back as `message_retracted`). */
  retractRoomMessage(room: string, id: number, reason: string | null): Promise<void>;
  /** The room's configuration form (owners only). */
  roomConfig(room: string): Promise<Form>;
  /** Submits the configuration: field var → values. */
  submitRoomConfig(room: string, answers: Record<string, string[]>): Promise<void>;
  /** A private message to an occupant; its conversation is `room/nick`. */
  sendPrivateMessage(room: string, nick: string, body: string): Promise<Message>;

  onEngineEvent(handler: (event: EngineEvent) => void): Promise<Unlisten>;
  onSessionChanged(handler: (status: Status) => void): Promise<Unlisten>;
  /** The event stream skipped `missed` events: state must be re-read. */
  onLagged(handler: (missed: number) => void): Promise<Unlisten>;
  /** A notification was clicked: open the conversation with this bare JID. */
  onOpenConversation(handler: (jid: string) => void): Promise<Unlisten>;
}

/** Whatever a command rejected with, as a `UiError`. */
export function toUiError(error: unknown): UiError {
  if (error && typeof error === 'object' && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    const e = error as UiError;
    return { ...e, message: typeof e.message === 'string' ? e.message : String(e.code) };
  }
  return { code: 'bridge', message: error instanceof Error ? error.message : String(error) };
}

/** True inside the Tauri web view. */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export class TauriBackend implements Backend {
  private async call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    try {
      return await invoke<T>(command, args);
    } catch (error) {
      throw toUiError(error);
    }
  }

  private async on<T>(channel: string, handler: (payload: T) => void): Promise<Unlisten> {
    return listen<T>(channel, (event) => handler(event.payload));
  }

  status() { return this.call<Status>('status'); }
  signIn(request: SignInRequest) { return this.call<Status>('sign_in', { request }); }
  trustCertificate(fingerprint: string) { return this.call<Status>('trust_certificate', { fingerprint }); }
  signOut() { return this.call<Status>('sign_out'); }
  forgetAccount(jid: string, deleteHistory: boolean) {
    return this.call<Status>('forget_account', { jid, delete_history: deleteHistory });
  }
  roster() { return this.call<RosterItem[]>('roster'); }
  presences() { return this.call<ContactPresence[]>('presences'); }
  subscriptionRequests() { return this.call<string[]>('subscription_requests'); }
  conversations() { return this.call<Conversation[]>('conversations'); }
  history(conversation: string, before: number | null, limit: number) {
    return this.call<Message[]>('history', { conversation, before, limit });
  }
  search(query: string, conversation: string | null, limit: number) {
    return this.call<SearchHit[]>('search', { query, conversation, limit });
  }
  sendMessage(to: string, body: string) { return this.call<Message>('send_message', { to, body }); }
  retryMessage(id: number) { return this.call<Message>('retry_message', { id }); }
  deleteMessage(id: number) { return this.call<void>('delete_message', { id }); }
  setChatState(jid: string, state: ChatState) { return this.call<void>('set_chat_state', { jid, state }); }
  reconnectNow() { return this.call<void>('reconnect_now'); }
  markRead(conversation: string) { return this.call<number>('mark_read', { conversation }); }
  setPresence(presence: OwnPresence, status: string | null) {
    return this.call<void>('set_presence', { presence, status });
  }
  addContact(jid: string, name: string | null, groups: string[]) {
    return this.call<void>('add_contact', { jid, name, groups });
  }
  removeContact(jid: string) { return this.call<void>('remove_contact', { jid }); }
  renameContact(jid: string, name: string | null) { return this.call<void>('rename_contact', { jid, name }); }
  setContactGroups(jid: string, groups: string[]) { return this.call<void>('set_contact_groups', { jid, groups }); }
  approveSubscription(jid: string) { return this.call<void>('approve_subscription', { jid }); }
  denySubscription(jid: string) { return this.call<void>('deny_subscription', { jid }); }
  getSettings() { return this.call<Settings>('get_settings'); }
  updateSettings(settings: Settings) { return this.call<Settings>('update_settings', { settings }); }
  setMuted(jid: string, muted: boolean) { return this.call<Settings>('set_muted', { jid, muted }); }
  setRoomNotify(room: string, level: RoomNotify) { return this.call<Settings>('set_room_notify', { room, level }); }
  setView(openConversation: string | null) {
    return this.call<void>('set_view', { open_conversation: openConversation });
  }
  openLink(url: string) { return this.call<void>('open_link', { url }); }
  roomsOnService(service: string) { return this.call<RoomListing[]>('rooms_on_service', { service }); }
  joinRoom(room: string, nick: string, password: string | null) {
    return this.call<Room>('join_room', { room, nick, password });
  }
  leaveRoom(room: string) { return this.call<void>('leave_room', { room }); }
  rooms() { return this.call<Room[]>('rooms'); }
  occupants(room: string) { return this.call<Occupant[]>('occupants', { room }); }
  sendRoomMessage(room: string, body: string) { return this.call<Message>('send_room_message', { room, body }); }
  changeNick(room: string, nick: string) { return this.call<Room>('change_nick', { room, nick }); }
  setSubject(room: string, subject: string) { return this.call<void>('set_subject', { room, subject }); }
  setRole(room: string, nick: string, role: Role, reason: string | null) {
    return this.call<void>('set_role', { room, nick, role, reason });
  }
  kick(room: string, nick: string, reason: string | null) { return this.call<void>('kick', { room, nick, reason }); }
  setAffiliation(room: string, jid: string, affiliation: Affiliation, reason: string | null) {
    return this.call<void>('set_affiliation', { room, jid, affiliation, reason });
  }
  ban(room: string, jid: string, reason: string | null) { return this.call<void>('ban', { room, jid, reason }); }
  destroyRoom(room: string, reason: string | null) { return this.call<void>('destroy_room', { room, reason }); }
  invite(room: string, jid: string, reason: string | null) { return this.call<void>('invite', { room, jid, reason }); }
  declineInvitation(invitation: Invitation, reason: string | null) {
    return this.call<void>('decline_invitation', { invitation, reason });
  }
  completeNick(room: string, prefix: string) { return this.call<string[]>('complete_nick', { room, prefix }); }
  bookmarks() { return this.call<Bookmark[]>('bookmarks'); }
  setBookmark(bookmark: Bookmark) { return this.call<void>('set_bookmark', { bookmark }); }
  removeBookmark(room: string) { return this.call<void>('remove_bookmark', { room }); }
  retractRoomMessage(room: string, id: number, reason: string | null) {
    return this.call<void>('retract_room_message', { room, id, reason });
  }
  roomConfig(room: string) { return this.call<Form>('room_config', { room }); }
  submitRoomConfig(room: string, answers: Record<string, string[]>) { return this.call<void>('submit_room_config', { room, answers }); }
  sendPrivateMessage(room: string, nick: string, body: string) {
    return this.call<Message>('send_private_message', { room, nick, body });
  }

  onEngineEvent(handler: (event: EngineEvent) => void) { return this.on('engine-event', handler); }
  onSessionChanged(handler: (status: Status) => void) { return this.on('session-changed', handler); }
  onLagged(handler: (missed: number) => void) { return this.on('engine-lagged', handler); }
  onOpenConversation(handler: (jid: string) => void) { return this.on('open-conversation', handler); }
}

export { MockBackend } from './mockBackend';

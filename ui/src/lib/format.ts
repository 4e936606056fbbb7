// Plain-text formatting of times, days, presence and delivery states (never HTML).

import type { Availability, DeliveryState, OwnPresence } from './bindings';

// One formatter each, made on first use: `toLocale…String` with options builds a new
// `Intl.DateTimeFormat` per call, which costs far more than formatting (a burst formats the time
// of every new row and of every conversation in the list, per frame).
let timeFormat: Intl.DateTimeFormat | undefined;
let dayFormat: Intl.DateTimeFormat | undefined;
let shortDayFormat: Intl.DateTimeFormat | undefined;

export function time(ms: number): string {
  timeFormat ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  return timeFormat.format(ms);
}

export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday", or the date. */
export function dayLabel(ms: number, now = Date.now()): string {
  if (dayKey(ms) === dayKey(now)) return 'Today';
  if (dayKey(ms) === dayKey(now - 86_400_000)) return 'Yesterday';
  dayFormat ??= new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
  return dayFormat.format(ms);
}

/** Time for today's activity, else a short date. */
export function shortWhen(ms: number, now = Date.now()): string {
  if (!ms) return '';
  if (dayKey(ms) === dayKey(now)) return time(ms);
  shortDayFormat ??= new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  return shortDayFormat.format(ms);
}

export const AVAILABILITY_LABEL: Record<Availability, string> = {
  chat: 'Free to chat',
  available: 'Available',
  away: 'Away',
  extended_away: 'Extended away',
  do_not_disturb: 'Do not disturb',
  offline: 'Offline',
};

export const OWN_PRESENCE_LABEL: Record<OwnPresence, string> = {
  available: 'Available',
  chat: 'Free to chat',
  away: 'Away',
  extended_away: 'Extended away',
  do_not_disturb: 'Do not disturb',
  invisible: 'Invisible',
};

/** What a delivery state is called (the accessible name of its mark). */
export const DELIVERY_LABEL: Record<DeliveryState, string> = {
  pending: 'Sending…',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
  none: '',
};

/** The visible mark of a delivery state next to our message's time (failed shows its label). */
export const DELIVERY_MARK: Record<DeliveryState, string> = {
  pending: '◷',
  sent: '✓',
  delivered: '✓✓',
  read: '✓✓',
  failed: '',
  none: '',
};

// Plain-text formatting of times, days, presence and delivery states (never HTML).

import type { Availability, DeliveryState, OwnPresence } from './bindings';

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday", or the date. */
export function dayLabel(ms: number, now = Date.now()): string {
  if (dayKey(ms) === dayKey(now)) return 'Today';
  if (dayKey(ms) === dayKey(now - 86_400_000)) return 'Yesterday';
  return new Date(ms).toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

/** Time for today's activity, else a short date. */
export function shortWhen(ms: number, now = Date.now()): string {
  if (!ms) return '';
  if (dayKey(ms) === dayKey(now)) return time(ms);
  return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
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

export const DELIVERY_LABEL: Record<DeliveryState, string> = {
  pending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
  none: '',
};

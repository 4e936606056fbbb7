// What the connection banner says (plain text; a reason's message comes from the engine).

import type { ConnectionState } from './bindings';

export type ConnectionNotice = {
  text: string;
  /** Seconds until the next attempt, shown after the text ("— retrying in 12 s"). */
  countdown: number | null;
  /** Why, when the engine said (shown next to the text). */
  detail: string | null;
  /** Whether "Retry now" is offered (the session waits before its next attempt). */
  canRetryNow: boolean;
};

/** The banner for `connection` (nothing when online and caught up). `secondsLeft`: the wait
 * before the next attempt of a reconnecting session, counted down by the banner. */
export function connectionNotice(connection: ConnectionState | null, syncing: boolean, secondsLeft: number): ConnectionNotice | null {
  switch (connection?.state) {
    case 'connecting':
      return { text: 'Connecting…', countdown: null, detail: null, canRetryNow: false };
    case 'reconnecting':
      return {
        text: secondsLeft > 0 ? 'Connection lost' : 'Connection lost — reconnecting…',
        countdown: secondsLeft > 0 ? secondsLeft : null,
        detail: connection.reason?.message ?? null,
        canRetryNow: secondsLeft > 0,
      };
    case 'offline':
      return { text: connection.reason ? `Offline: ${connection.reason.message}` : 'Offline', countdown: null, detail: null, canRetryNow: false };
    case 'online':
      return syncing ? { text: 'Catching up…', countdown: null, detail: null, canRetryNow: false } : null;
    default:
      return null;
  }
}

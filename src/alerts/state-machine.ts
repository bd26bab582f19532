// One alert instance (a rule on one series) from one observation to the next. Pure.
//   inactive → pending when the condition starts to hold (firing at once when `for` is 0)
//   pending → firing once it has held for `for`; pending → inactive if it stops first
//   firing: sent once, then again every `repeat` while it lasts; → inactive with a "resolved"
//   message when it ends (only if the firing was sent). While silenced nothing is sent; a firing
//   alert that was held is sent when the silence lifts, if it still holds.
export type AlertStatus = 'inactive' | 'pending' | 'firing';
export type AlertNotification = 'firing' | 'repeat' | 'resolved';

export interface AlertInstanceState {
  status: AlertStatus;
  /** When the condition started to hold. */
  since: number | null;
  firedAt: number | null;
  lastSentAt: number | null;
  /** Whether the current firing has been sent. */
  notified: boolean;
  value: number | null;
}

export const INACTIVE: AlertInstanceState = {
  status: 'inactive',
  since: null,
  firedAt: null,
  lastSentAt: null,
  notified: false,
  value: null,
};

export interface AlertObservation {
  breached: boolean;
  value: number;
  now: number;
  forMs: number;
  repeatMs: number;
  silenced: boolean;
}

export interface AlertStep {
  state: AlertInstanceState;
  transition: { from: AlertStatus; to: AlertStatus } | null;
  notify: AlertNotification | null;
  /** A message was due but a silence held it back. */
  held: AlertNotification | null;
}

export function stepAlert(prev: AlertInstanceState, o: AlertObservation): AlertStep {
  const out = (
    state: AlertInstanceState,
    notify: AlertNotification | null = null,
    held: AlertNotification | null = null,
  ): AlertStep => ({
    state,
    transition: state.status === prev.status ? null : { from: prev.status, to: state.status },
    notify,
    held,
  });
  if (!o.breached) {
    if (prev.status === 'firing' && prev.notified)
      return out({ ...INACTIVE, value: o.value, lastSentAt: o.now }, 'resolved');
    return out({ ...INACTIVE, value: o.value });
  }
  const since = prev.status === 'inactive' ? o.now : (prev.since ?? o.now);
  if (prev.status !== 'firing' && o.now - since < o.forMs) {
    return out({ ...INACTIVE, status: 'pending', since, value: o.value });
  }
  const firedAt = prev.status === 'firing' ? prev.firedAt! : o.now;
  const firing: AlertInstanceState = {
    status: 'firing',
    since,
    firedAt,
    lastSentAt: prev.status === 'firing' ? prev.lastSentAt : null,
    notified: prev.status === 'firing' && prev.notified,
    value: o.value,
  };
  const due: AlertNotification | null = !firing.notified
    ? 'firing'
    : o.now - (firing.lastSentAt ?? 0) >= o.repeatMs
      ? 'repeat'
      : null;
  if (!due) return out(firing);
  if (o.silenced) return out(firing, null, due);
  return out({ ...firing, notified: true, lastSentAt: o.now }, due);
}

/**
 * The series had no point this round (no data: a target down, no lookups for a ratio, a stalled
 * collector). No data is not a breach and not a recovery either: a pending alert starts over, and
 * a firing one ends (it could otherwise never resolve without traffic). A "resolved" message goes
 * out only for a firing that was sent; the caller words it as "no data", not "back within".
 */
export function stepGap(prev: AlertInstanceState, now: number): AlertStep {
  if (prev.status === 'inactive') return { state: prev, transition: null, notify: null, held: null };
  const state: AlertInstanceState = {
    ...INACTIVE,
    value: null,
    lastSentAt: prev.status === 'firing' && prev.notified ? now : prev.lastSentAt,
  };
  return {
    state,
    transition: { from: prev.status, to: 'inactive' },
    notify: prev.status === 'firing' && prev.notified ? 'resolved' : null,
    held: null,
  };
}

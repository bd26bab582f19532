import { describe, expect, it } from 'vitest';
import { INACTIVE, stepAlert, type AlertInstanceState } from '../../src/alerts/state-machine.js';

const MIN = 60_000;
const FOR = 5 * MIN;
const REPEAT = 60 * MIN;

function play(values: Array<[breached: boolean, silenced?: boolean]>) {
  let state: AlertInstanceState = INACTIVE;
  const sent: Array<[number, string]> = [];
  const held: number[] = [];
  values.forEach(([breached, silenced = false], minute) => {
    const step = stepAlert(state, { breached, value: 0, now: minute * MIN, forMs: FOR, repeatMs: REPEAT, silenced });
    state = step.state;
    if (step.notify) sent.push([minute, step.notify]);
    if (step.held) held.push(minute);
  });
  return { state, sent, held };
}

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

describe('stepAlert', () => {
  it('fires only after the condition held for `for`, once, and resolves', () => {
    const { sent } = play([...times(10, [true] as [boolean]), [false]]);
    expect(sent).toEqual([
      [5, 'firing'],
      [10, 'resolved'],
    ]);
  });
  it('goes back to inactive without a message when the condition stops before `for`', () => {
    const { sent, state } = play([[true], [true], [false], [true], [true], [true], [true]]);
    expect(sent).toEqual([]);
    expect(state.status).toBe('pending');
  });
  it('repeats on the repeat interval while it lasts', () => {
    const { sent } = play(times(130, [true] as [boolean]));
    expect(sent).toEqual([
      [5, 'firing'],
      [65, 'repeat'],
      [125, 'repeat'],
    ]);
  });
  it('holds messages while silenced and sends the firing once the silence lifts', () => {
    const { sent, held } = play([...times(8, [true, true] as [boolean, boolean]), [true, false], [true, false]]);
    expect(held[0]).toBe(5);
    expect(sent).toEqual([[8, 'firing']]);
  });
  it('sends no resolved message for a firing that was never sent', () => {
    const { sent } = play([...times(8, [true, true] as [boolean, boolean]), [false, true]]);
    expect(sent).toEqual([]);
  });
  it('fires at once when `for` is 0', () => {
    const step = stepAlert(INACTIVE, { breached: true, value: 1, now: 0, forMs: 0, repeatMs: REPEAT, silenced: false });
    expect(step.notify).toBe('firing');
    expect(step.transition).toEqual({ from: 'inactive', to: 'firing' });
  });
});

// Times in notices for people: always UTC, with the weekday.
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function formatWhen(at: Date): string {
  const iso = at.toISOString();
  return `${DAYS[at.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function formatSpan(start: Date, end: Date): string {
  const sameDay = start.toISOString().slice(0, 10) === end.toISOString().slice(0, 10);
  return `${formatWhen(start)} to ${sameDay ? `${end.toISOString().slice(11, 16)} UTC` : formatWhen(end)}`;
}

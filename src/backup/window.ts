// Pure: the end of the backup window a run falls in ("01:00 UTC" for "2 hours"), so a backup
// started inside the window is stopped at its end instead of running into business hours.
export function windowDeadline(
  now: Date,
  startHour: number,
  startMinute: number,
  durationMs: number,
): Date | undefined {
  for (const dayOffset of [0, -1]) {
    const start = Date.UTC(
      now.getUTCFullYear(),
      now.getUTCMonth(),
      now.getUTCDate() + dayOffset,
      startHour,
      startMinute,
    );
    if (now.getTime() >= start && now.getTime() < start + durationMs) return new Date(start + durationMs);
  }
  return undefined;
}

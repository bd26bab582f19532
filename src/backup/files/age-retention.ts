// The retention decision shared by Redis backups and upload snapshots: keep what is younger than the
// retention period, and always the newest one, so a paused schedule never empties the repository.
export interface Dated {
  id: string;
  /** When the backup or snapshot was taken (ISO text). */
  at: string;
}

export interface AgePlan {
  keep: string[];
  expire: string[];
}

export function planAgeRetention(items: readonly Dated[], now: Date, keepMs: number): AgePlan {
  const sorted = [...items].sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1));
  const newest = sorted[sorted.length - 1]?.id;
  const cutoff = now.getTime() - keepMs;
  const keep: string[] = [];
  const expire: string[] = [];
  for (const item of sorted) {
    if (item.id === newest || new Date(item.at).getTime() >= cutoff) keep.push(item.id);
    else expire.push(item.id);
  }
  return { keep, expire };
}

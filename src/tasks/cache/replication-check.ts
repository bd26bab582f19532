// Pure assessment of INFO replication: every replica connected and its lag under max_lag.
import { parseInfoFields } from '../../adapters/redis.js';

export interface ReplicaStatus {
  /** "host:port" */
  name: string;
  state: string;
  /** Seconds since the replica last acknowledged (INFO's lag), null when not connected. */
  lagSeconds: number | null;
  /** Bytes of replication stream the replica has not acknowledged yet. */
  offsetBehind: number | null;
  ok: boolean;
  problem?: string;
}

export interface ReplicationAssessment {
  role: string;
  replicas: ReplicaStatus[];
  ok: boolean;
  problems: string[];
}

export function assessReplication(
  info: Record<string, string>,
  options: { maxLagMs: number; expected: readonly string[] },
): ReplicationAssessment {
  const role = info.role ?? 'unknown';
  const masterOffset = Number(info.master_repl_offset ?? 0);
  const replicas: ReplicaStatus[] = [];
  for (const [key, value] of Object.entries(info)) {
    if (!/^slave\d+$/.test(key)) continue;
    const f = parseInfoFields(value);
    // A backup taking a snapshot over PSYNC (cache.backup) shows up as a replica with port 0 in
    // wait_bgsave; it is not a replica of the platform and must not fail the check.
    if (f.port === '0') continue;
    const name = `${f.ip ?? '?'}:${f.port ?? '?'}`;
    const lag = f.lag === undefined ? null : Number(f.lag);
    const state = f.state ?? 'unknown';
    const behind = f.offset === undefined ? null : Math.max(0, masterOffset - Number(f.offset));
    let problem: string | undefined;
    if (state !== 'online') problem = `replica ${name} is ${state}, not online`;
    else if (lag !== null && lag * 1000 > options.maxLagMs)
      problem = `replica ${name} lags ${lag} s (max ${options.maxLagMs / 1000} s)`;
    replicas.push({
      name,
      state,
      lagSeconds: lag,
      offsetBehind: behind,
      ok: !problem,
      ...(problem ? { problem } : {}),
    });
  }
  for (const name of options.expected) {
    if (!replicas.some((r) => r.name === name)) {
      replicas.push({
        name,
        state: 'disconnected',
        lagSeconds: null,
        offsetBehind: null,
        ok: false,
        problem: `replica ${name} is not connected`,
      });
    }
  }
  const problems = replicas.filter((r) => !r.ok).map((r) => r.problem!);
  // With no replica named in the policy, a lone primary is a valid set-up, not a failure.
  if (role === 'master' && replicas.length === 0 && options.expected.length > 0)
    problems.push('no replica is connected');
  if (role !== 'master' && role !== 'unknown')
    problems.push(`target is a ${role}, not a primary (master_link_status ${info.master_link_status ?? 'unknown'})`);
  return { role, replicas, ok: problems.length === 0, problems };
}

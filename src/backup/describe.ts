// Readable summaries of restore, verify and expire for a person at a terminal; `--json` prints the
// same objects as data.
import type { ExpireResult } from './pg-expire.js';
import type { IntegrityReport } from './pg-integrity.js';
import type { RestoreDatabaseResult } from './commands.js';

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function describeRestore(r: RestoreDatabaseResult): string {
  const lines = [
    `restored backup ${r.backup.id} (${r.chain.length === 1 ? 'full' : `chain ${r.chain.join(' → ')}`}): ${r.files} files, ${mib(r.bytes)} in ${seconds(r.durationMs)}`,
    `WAL checked present and intact: ${r.wal.segments} segment(s) ${r.wal.first}..${r.wal.last} on timeline ${r.wal.timeline}`,
  ];
  if (r.wal.stopsBefore)
    lines.push(
      `WAL segment ${r.wal.stopsBefore} is missing: recovery stops before it${r.wal.newestCommit ? `, at the transaction committed ${r.wal.newestCommit.at}` : ''}`,
    );
  if (r.targetTime) lines.push(`recovery target: ${r.targetTime}`);
  else if (r.wal.newestCommit)
    lines.push(
      `recovery replays to the newest archived transaction (${r.wal.newestCommit.xid}, ${r.wal.newestCommit.at})`,
    );
  if (r.recovery) {
    const rec = r.recovery;
    lines.push(
      `recovered in ${seconds(rec.recoveryMs)} to ${rec.recoveredTo ?? 'the end of the backup'}; now on timeline ${rec.timeline}`,
    );
    if (rec.lastTransaction)
      lines.push(
        `last transaction replayed: ${rec.lastTransaction.xid === null ? '' : `${rec.lastTransaction.xid}, `}committed ${rec.lastTransaction.at}`,
      );
    if (rec.stoppedAt)
      lines.push(
        `stopped ${rec.stoppedAt.before ? 'before' : 'after'} transaction ${rec.stoppedAt.xid} (committed ${rec.stoppedAt.at})`,
      );
    lines.push('the restored server was stopped; start it as usual');
  } else lines.push('start PostgreSQL on the directory to replay the WAL (or use --wait to check it now)');
  return lines.join('\n');
}

export function describeVerify(r: IntegrityReport): string {
  const head = `${r.backups} backup(s), ${r.logicalBackups} logical dump(s), ${r.objects} stored objects and ${r.walFiles} WAL file(s) checked: ${mib(r.bytesRead)} read in ${seconds(r.durationMs)}`;
  if (r.problems.length === 0) return `${head}\nno problems found`;
  return [
    head,
    `${r.problems.length} problem(s):`,
    ...r.problems.map((p) => `  ${p.backup}: ${p.file}: ${p.problem}`),
  ].join('\n');
}

export function describeExpire(r: ExpireResult): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [
    `${verb} ${r.removedBackups.length} backup(s)${r.removedBackups.length ? ` (${r.removedBackups.join(', ')})` : ''}, ${r.removedPartials.length} interrupted folder(s) and ${r.removedWal} WAL file(s)`,
    `kept ${r.plan.keep.length} backup(s); WAL kept from ${r.plan.walKeepFrom ?? 'the start'}`,
  ];
  for (const id of r.plan.keep) lines.push(`  ${id}: ${r.plan.reasons[id] ?? ''}`);
  return lines.join('\n');
}

// Pure: which stored pieces rebuild each file of a backup chain. A file in the newest manifest is
// rebuilt from the newest backup that holds it whole, then every later delta applied in order.
import { DrydockError } from '../errors.js';
import type { BackupManifest, ManifestFile } from './types.js';

export interface FileStep {
  /** Index of the backup in the chain (0 = the full backup). */
  backup: number;
  entry: ManifestFile;
}

export interface FilePlan {
  file: ManifestFile;
  /** Oldest first: a whole entry, then deltas. */
  steps: FileStep[];
}

export function planRestore(chain: readonly BackupManifest[]): FilePlan[] {
  if (chain.length === 0) throw new DrydockError('INTERNAL', 'empty chain');
  const maps = chain.map((m) => new Map(m.files.map((f) => [f.path, f])));
  const last = chain[chain.length - 1]!;
  return last.files.map((file) => {
    const steps: FileStep[] = [];
    for (let i = chain.length - 1; ; i--) {
      const entry = i >= 0 ? maps[i]!.get(file.path) : undefined;
      if (!entry) {
        const needer = chain[i + 1]!;
        const missingIn = i >= 0 ? chain[i]!.id : '(before the full backup)';
        throw new DrydockError(
          'VALIDATION_FAILED',
          `backup ${needer.id} stores only changed pages of ${file.path}, but ${missingIn} has no copy of that file`,
          {
            details: { backup: missingIn, file: file.path },
          },
        );
      }
      steps.unshift({ backup: i, entry });
      if (entry.kind === 'whole') break;
    }
    return { file, steps };
  });
}

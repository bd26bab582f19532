// Where an incremental finds the parent's version of a file range: the stored objects that rebuild
// it (the newest whole copy, then later page deltas), exactly as a restore would apply them. The
// copy worker decodes them and compares every page byte for byte, so a page is stored only when it
// really changed (hint bits, visibility map and free space map changes included, with or without
// data checksums), and stored as XOR against the parent page, which is mostly zeros.
import { join } from 'node:path';
import { packFileName } from './copy-pool.js';
import type { BackupManifest, ManifestFile } from './types.js';

export interface ReferenceObject {
  packPath: string;
  offset: number;
  length: number;
  sha256: string;
  /** Whole objects: the file range they hold. */
  rawOffset?: number | undefined;
  rawEnd?: number | undefined;
  /** Delta objects: page runs and the XOR boundary. */
  blocks?: Array<[number, number]> | undefined;
  xorBelow?: number | undefined;
}

export interface ReferenceStep {
  kind: 'whole' | 'delta';
  /** File size after this step. */
  size: number;
  objects: ReferenceObject[];
}

export interface Reference {
  /** Parent's size of the whole file. */
  size: number;
  steps: ReferenceStep[];
}

const PAGE = 8192;

/**
 * The parent's version of `path` restricted to [offset, end): undefined when the chain cannot
 * rebuild it (then the caller copies the file whole).
 */
export function referenceFor(
  chain: readonly BackupManifest[],
  files: ReadonlyArray<Map<string, ManifestFile>>,
  backupDirOf: (id: string) => string,
  path: string,
  offset: number,
  end: number,
): Reference | undefined {
  const entries: Array<{ manifest: BackupManifest; entry: ManifestFile }> = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const entry = files[i]!.get(path);
    if (!entry || entry.inline !== undefined) return undefined;
    entries.unshift({ manifest: chain[i]!, entry });
    if (entry.kind === 'whole') break;
    if (i === 0) return undefined;
  }
  if (entries.length === 0 || entries[0]!.entry.kind !== 'whole') return undefined;
  const steps: ReferenceStep[] = entries.map(({ manifest, entry }) => {
    const dir = backupDirOf(manifest.id);
    const base = (o: ManifestFile['objects'][number]) => ({
      packPath: join(dir, packFileName(o.pack)),
      offset: o.offset,
      length: o.length,
      sha256: o.sha256,
    });
    if (entry.kind === 'whole') {
      const sorted = [...entry.objects].sort((a, b) => (a.rawOffset ?? 0) - (b.rawOffset ?? 0));
      const objects = sorted
        .map((o, i) => ({ ...base(o), rawOffset: o.rawOffset ?? 0, rawEnd: sorted[i + 1]?.rawOffset ?? entry.size }))
        .filter((o) => o.rawOffset < end && o.rawEnd > offset);
      return { kind: 'whole' as const, size: entry.size, objects };
    }
    const first = Math.floor(offset / PAGE);
    const last = Math.ceil(end / PAGE);
    const objects = entry.objects
      .filter((o) => (o.blocks ?? []).some(([b, n]) => b < last && b + n > first))
      .map((o) => ({ ...base(o), blocks: o.blocks, xorBelow: o.xorBelow }));
    return { kind: 'delta' as const, size: entry.size, objects };
  });
  return { size: entries[entries.length - 1]!.entry.size, steps };
}

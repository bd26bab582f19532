// How much the deduplication saves: bytes of file content in the kept snapshots against the bytes
// their distinct blobs take in the repository.
import { statSync } from 'node:fs';
import { blobPath, type BlobStore } from './blob-store.js';
import { readSnapshot } from './snapshot.js';

export interface StoreUsage {
  /** Sum of file sizes over every kept snapshot (what copying each snapshot whole would take). */
  logicalBytes: number;
  /** Bytes on disk of the distinct blobs they reference. */
  storedBytes: number;
  /** logicalBytes / storedBytes (0 when nothing is stored). */
  ratio: number;
}

export function storeUsage(store: BlobStore, snapshotIds: readonly string[]): StoreUsage {
  let logicalBytes = 0;
  const blobs = new Set<string>();
  for (const id of snapshotIds) {
    for (const e of readSnapshot(store, id).entries) {
      logicalBytes += e.size;
      for (const c of e.chunks ?? []) blobs.add(c);
    }
  }
  let storedBytes = 0;
  for (const name of blobs) {
    try {
      storedBytes += statSync(blobPath(store, name)).size;
    } catch {
      /* a missing blob is the integrity check's business */
    }
  }
  return { logicalBytes, storedBytes, ratio: storedBytes ? logicalBytes / storedBytes : 0 };
}

// Storing one file as chunks and writing it back, both verified by the whole-file SHA-256.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { CHUNK_SIZE, readBlob, type BlobStore, type BlobWriter } from './blob-store.js';
import { DrydockError } from '../../errors.js';

export interface StoredFile {
  size: number;
  sha256: string;
  chunks: string[];
}

/** Reads a file in CHUNK_SIZE pieces, storing each piece not already in the store. */
export async function storeFile(writer: BlobWriter, path: string, signal?: AbortSignal): Promise<StoredFile> {
  const handle = await open(path, 'r');
  const hash = createHash('sha256');
  const chunks: string[] = [];
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    for (;;) {
      signal?.throwIfAborted();
      // Fill the whole chunk (a read may return less), so chunk boundaries depend only on content offsets.
      let filled = 0;
      while (filled < CHUNK_SIZE) {
        const { bytesRead } = await handle.read(buf, filled, CHUNK_SIZE - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) break;
      const piece = buf.subarray(0, filled);
      hash.update(piece);
      chunks.push(writer.put(piece));
      size += filled;
      if (filled < CHUNK_SIZE) break;
    }
  } finally {
    await handle.close();
  }
  return { size, sha256: hash.digest('hex'), chunks };
}

/** Writes a stored file's content to `fd`, checking every blob and the whole-file SHA-256. */
export async function writeStoredFile(
  store: BlobStore,
  file: { chunks: string[]; sha256: string; size: number },
  write: (chunk: Buffer) => Promise<void>,
  what: string,
): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  for (const name of file.chunks) {
    let content: Buffer;
    try {
      content = readBlob(store, name);
    } catch (error) {
      throw new DrydockError('DATA_DAMAGED', `${what}: ${(error as Error).message}`, { cause: error });
    }
    hash.update(content);
    size += content.length;
    await write(content);
  }
  if (size !== file.size || hash.digest('hex') !== file.sha256)
    throw new DrydockError('DATA_DAMAGED', `${what}: restored content does not match its recorded SHA-256`);
}

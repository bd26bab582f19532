// PostgreSQL's backup_manifest (version 1), byte for byte in the layout pg_basebackup writes, so
// `pg_verifybackup` accepts an unpacked Drydock backup. The Manifest-Checksum is the SHA-256 of
// everything up to and including the newline before the "Manifest-Checksum" line.
import { createHash } from 'node:crypto';
import { manifestCrcHex } from './crc32c.js';

export interface PgManifestFile {
  path: string;
  size: number;
  mtimeMs: number;
  crc: number;
}

export interface WalRange {
  timeline: number;
  startLsn: string;
  endLsn: string;
}

function pgTime(ms: number): string {
  // "2026-11-26 23:12:19 GMT": seconds precision, as pg_basebackup prints it.
  return new Date(Math.floor(ms / 1000) * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' GMT');
}

export function buildPgManifest(files: PgManifestFile[], wal: WalRange): string {
  let text = '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [';
  files.forEach((f, i) => {
    text += i === 0 ? '\n' : ',\n';
    text += `{ "Path": ${JSON.stringify(f.path)}, "Size": ${f.size}, "Last-Modified": "${pgTime(f.mtimeMs)}", "Checksum-Algorithm": "CRC32C", "Checksum": "${manifestCrcHex(f.crc)}" }`;
  });
  text += '\n],\n';
  text += '"WAL-Ranges": [\n';
  text += `{ "Timeline": ${wal.timeline}, "Start-LSN": "${wal.startLsn}", "End-LSN": "${wal.endLsn}" }`;
  text += '\n],\n';
  const checksum = createHash('sha256').update(text).digest('hex');
  return `${text}"Manifest-Checksum": "${checksum}"}\n`;
}

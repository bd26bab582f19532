// The records a repository holds. Plain JSON: a repository can be read by anything, years later.
import type { StoredObject } from './copy-pool.js';

export type BackupKind = 'full' | 'incremental';

/** A stored piece of one file: a byte range of it (whole files) or a set of its pages (incrementals). */
export interface FileObject extends StoredObject {
  /** Byte offset in the file where this piece starts (whole files). */
  rawOffset?: number;
  /** Pages held by this piece, as [first block, count] runs, in order (incrementals). */
  blocks?: Array<[number, number]>;
  /** Pages below this block number are stored as XOR against the previous version of the page. */
  xorBelow?: number;
}

export interface ManifestFile {
  path: string;
  size: number;
  mtimeMs: number;
  mode: number;
  /** CRC-32C of the whole file content at backup time (what PostgreSQL's manifest records). */
  crc: number;
  /** whole: the objects hold the entire file. delta: only pages changed since the parent; the rest comes from the chain. */
  kind: 'whole' | 'delta';
  objects: FileObject[];
  /** Small files written by Drydock itself (backup_label), base64. */
  inline?: string;
}

export interface BackupManifest {
  format: 'drydock-backup-manifest';
  version: 1;
  id: string;
  kind: BackupKind;
  parent: string | null;
  files: ManifestFile[];
  dirs: Array<{ path: string; mode: number }>;
  packs: Array<{ pack: number; size: number }>;
  /** Files larger than this were split into ranges of this size (64 MiB when absent). */
  rangeBytes?: number;
}

export interface TableFigure {
  table: string;
  rows: number;
  /** Order-independent sum of 60-bit slices of md5(row text): a content checksum of the table. */
  checksum: string;
  /** Set when the table could not be read at backup time (then rows is -1). */
  error?: string;
}

/** One timeline of a history: it began at `begin` and was left for the next one at `end` (LSN text). */
export interface HistoryEntry {
  tli: number;
  begin: string;
  end: string | null;
}

export interface BackupRecord {
  id: string;
  kind: BackupKind;
  /** The backup this one depends on (incrementals), and the chain from the full backup to this one. */
  parent: string | null;
  chain: string[];
  startedAt: string;
  stoppedAt: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  /** The timeline history of the cluster at backup time, oldest first, ending with `timeline`. */
  timelineHistory?: HistoryEntry[];
  segmentSize: number;
  /** First and last WAL segment needed to make this backup consistent. */
  walStart: string;
  walStop: string;
  systemIdentifier: string;
  pgVersion: number;
  /** Bytes of the data directory at backup time, bytes read and bytes stored. */
  size: number;
  readBytes: number;
  storedSize: number;
  fileCount: number;
  changedFiles: number;
  manifestSha256: string;
  /** SHA-256 of PostgreSQL's backup_manifest written beside manifest.json (full backups). */
  pgManifestSha256?: string;
  compression: { type: 'zstd'; level: number };
  encrypted: boolean;
  durationMs: number;
  /** Set when an incremental was asked for and a full was taken: why. */
  fullReason?: string;
  /** Row counts and content checksums of the verified tables, taken right after the backup. */
  tables: TableFigure[];
  database: string;
  /** Full backups of clusters with data checksums: PostgreSQL page checksums verified while copying. */
  pageChecksums?: { verified: true; corrupt: Array<{ path: string; block: number }>; corruptCount: number };
  /** Retention chosen by the task that took it (database.backup keeps its own 30 days); else by kind. */
  retentionMs?: number;
}

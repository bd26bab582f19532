// PostgreSQL log sequence numbers and WAL segment names. LSNs are kept as bigint: they are 64-bit
// and a restore compares them exactly; plain numbers are used only inside the copy workers' hot
// loop, where values stay far below 2^53 for any real cluster.
import { DrydockError } from '../errors.js';

/** "16/B374D848" → 0x16B374D848n */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new DrydockError('DATA_DAMAGED', `not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

/** The WAL file holding `lsn`, as pg_walfile_name would name it (the byte at a boundary belongs to the next). */
export function walFileName(timeline: number, lsn: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const seg = lsn / BigInt(segmentSize);
  return segmentName(timeline, seg, segmentSize);
}

export function segmentName(timeline: number, segNo: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const perId = 0x100000000n / BigInt(segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(segNo / perId) + hex(segNo % perId);
}

/** Segment number of a WAL file name (timeline excluded). */
export function segmentNumber(name: string, segmentSize = DEFAULT_SEGMENT_SIZE): bigint {
  if (!isSegmentName(name)) throw new DrydockError('DATA_DAMAGED', `not a WAL segment name: ${name}`);
  const perId = 0x100000000n / BigInt(segmentSize);
  return BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16, 24)}`);
}

export function segmentTimeline(name: string): number {
  return parseInt(name.slice(0, 8), 16);
}

export function isSegmentName(name: string): boolean {
  return /^[0-9A-F]{24}$/.test(name);
}

/**
 * The WAL files needed to replay from `start` to `end` on one timeline: every segment from the one
 * holding start to the one holding the last byte before end.
 */
export function segmentsBetween(
  timeline: number,
  start: bigint,
  end: bigint,
  segmentSize = DEFAULT_SEGMENT_SIZE,
): string[] {
  const first = start / BigInt(segmentSize);
  const last = (end > start ? end - 1n : end) / BigInt(segmentSize);
  const names: string[] = [];
  for (let s = first; s <= last; s++) names.push(segmentName(timeline, s, segmentSize));
  return names;
}

// CRC-32C (Castagnoli), the checksum PostgreSQL's backup_manifest uses by default. The copy
// workers hash byte ranges of one file in parallel; `crc32cCombine` joins the range CRCs into the
// file's CRC without re-reading anything (zlib's crc32_combine, GF(2) matrix method).
import { createCRC32 } from 'hash-wasm';

export const CRC32C_POLYNOMIAL = 0x82f63b78;

/** CRC-32C of a buffer (main thread, small inputs such as backup_label). */
export async function crc32c(data: Uint8Array): Promise<number> {
  const hasher = await createCRC32(CRC32C_POLYNOMIAL);
  hasher.init();
  hasher.update(data);
  return parseInt(hasher.digest('hex'), 16) >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  let i = 0;
  while (vec) {
    if (vec & 1) sum ^= mat[i]!;
    vec >>>= 1;
    i++;
  }
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}

/** CRC of A‖B from crc(A), crc(B) and B's length. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = CRC32C_POLYNOMIAL;
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row <<= 1;
  }
  gf2Square(even, odd); // 2 zero bits
  gf2Square(odd, even); // 4 zero bits
  let crc1 = crcA >>> 0;
  let len = lengthB;
  do {
    gf2Square(even, odd);
    if (len & 1) crc1 = gf2Times(even, crc1);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len & 1) crc1 = gf2Times(odd, crc1);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc1 ^ crcB) >>> 0;
}

/** PostgreSQL prints a CRC-32C checksum as its four bytes in memory order (little-endian on x86). */
export function manifestCrcHex(crc: number): string {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(crc >>> 0);
  return buf.toString('hex');
}

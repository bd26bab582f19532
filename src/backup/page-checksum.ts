// PostgreSQL's data page checksum (src/include/storage/checksum_impl.h): FNV-1a-like mixing over
// 32 parallel lanes, folded, XORed with the block number, reduced to 1..65535. The copy worker
// carries an identical copy (it runs as plain JavaScript); this module is the tested reference.
export const PAGE_SIZE = 8192;
/** Pages per 1 GiB segment file: block numbers continue across base/5/16384, 16384.1, ... */
export const RELSEG_BLOCKS = 131072;

export const CHECKSUM_BASE_OFFSETS = [
  0x5b1f36e9, 0xb8525960, 0x02ab50aa, 0x1de66d2a, 0x79ff467a, 0x9bb9f8a3, 0x217e7cd2, 0x83e13d2c, 0xf8d4474f,
  0xe39eb970, 0x42c6ae16, 0x993216fa, 0x7b093b5d, 0x98daff3c, 0xf718902a, 0x0b1c9cdb, 0xe58f764b, 0x187636bc,
  0x5d7b3bb1, 0xe73de7de, 0x92bec979, 0xcca6c0b2, 0x304a0979, 0x85aa43d4, 0x783125bb, 0x6ca8eaa2, 0xe407eac6,
  0x4b5cfc3e, 0x9fbf8c76, 0x15ca20be, 0xf2ca9fd3, 0x959bd756,
];

/** The checksum PostgreSQL would store in pd_checksum for this page at this block number. */
export function pageChecksum(page: Buffer, blockNumber: number): number {
  const sums = new Uint32Array(CHECKSUM_BASE_OFFSETS);
  const words = new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4);
  // pd_checksum (bytes 8-9) counts as zero: word 2 holds it in its low 16 bits (little-endian).
  for (let i = 0; i < PAGE_SIZE / 4; i += 32) {
    for (let j = 0; j < 32; j++) {
      let value = words[i + j]!;
      if (i + j === 2) value = value & 0xffff0000;
      const tmp = (sums[j]! ^ value) >>> 0;
      sums[j] = (Math.imul(tmp, 16777619) ^ (tmp >>> 17)) >>> 0;
    }
  }
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < 32; j++) {
      const tmp = sums[j]! >>> 0;
      sums[j] = (Math.imul(tmp, 16777619) ^ (tmp >>> 17)) >>> 0;
    }
  }
  let result = 0;
  for (let j = 0; j < 32; j++) result ^= sums[j]!;
  result = (result ^ blockNumber) >>> 0;
  return (result % 65535) + 1;
}

/** A new (all-zero header) page has no checksum; PostgreSQL accepts it. */
export function pageIsNew(page: Buffer): boolean {
  // pd_upper == 0 marks an uninitialised page.
  return page.readUInt16LE(14) === 0;
}

export function pageChecksumOk(page: Buffer, blockNumber: number): boolean {
  return pageIsNew(page) || page.readUInt16LE(8) === pageChecksum(page, blockNumber);
}

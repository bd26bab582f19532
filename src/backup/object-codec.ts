// Turning stored bytes back into content: verify SHA-256 of what is stored, decrypt
// (AES-256-GCM: 12-byte IV, ciphertext, 16-byte tag), then zstd-decompress, whose frame checksum
// proves the content. Used by restore, WAL get and the integrity check.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { compress } from 'zstd-napi';
import { DrydockError } from '../errors.js';

const require = createRequire(import.meta.url);

const binding = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function encrypt(data: Uint8Array, key: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

export function decrypt(data: Buffer, key: Buffer): Buffer {
  if (data.length < 28) throw new DrydockError('DATA_DAMAGED', 'encrypted object is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
}

/** One zstd frame with a content checksum, optionally encrypted (for WAL segments and small files). */
export function encodeObject(content: Uint8Array, level: number, key?: Buffer): Buffer {
  const packed = compress(content, { compressionLevel: level, checksumFlag: true });
  return key ? encrypt(packed, key) : packed;
}

const OUT = 1 << 20;

/**
 * Decompresses one stored object, calling `sink` with each piece of content in order. Throws on a
 * truncated or damaged frame (zstd checks its content checksum at the end of the frame).
 */
export function decodeObject(stored: Buffer, key: Buffer | undefined, sink: (chunk: Buffer) => void): void {
  const frame = key ? decrypt(stored, key) : stored;
  const dctx = new binding.DCtx();
  const out = Buffer.allocUnsafe(OUT);
  let pos = 0;
  let remaining = 1;
  while (pos < frame.length || remaining !== 0) {
    const [hint, produced, consumed] = dctx.decompressStream(out, frame.subarray(pos));
    pos += consumed;
    remaining = hint;
    if (produced > 0) sink(out.subarray(0, produced));
    if (hint === 0 && pos >= frame.length) break;
    if (consumed === 0 && produced === 0) throw new DrydockError('DATA_DAMAGED', 'truncated compressed object');
  }
  if (remaining !== 0) throw new DrydockError('DATA_DAMAGED', 'truncated compressed object');
}

export function decodeObjectToBuffer(stored: Buffer, key?: Buffer): Buffer {
  const parts: Buffer[] = [];
  decodeObject(stored, key, (chunk) => parts.push(Buffer.from(chunk)));
  return Buffer.concat(parts);
}

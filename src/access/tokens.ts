// Issued API tokens: `ddk_<id>_<secret>`, the id 12 hex characters (lookup key, shown in lists and
// the activity log), the secret 32 random bytes in base64url. Only SHA-256(secret) is stored; a
// presented token is found by its id and its secret compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { redactor } from '../policy/redact.js';

const TOKEN = /^ddk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function newToken(): { id: string; secret: string; token: string; secretHash: Buffer } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const token = `ddk_${id}_${secret}`;
  redactor.register(token);
  return { id, secret, token, secretHash: sha256(secret) };
}

export function parseToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN.exec(token.trim());
  return match ? { id: match[1]!, secret: match[2]! } : null;
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const presented = sha256(secret);
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
}

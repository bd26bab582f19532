// Reads the top-level members of a large JSON object without parsing or even holding the whole of
// it: the bytes go through in chunks, a small state machine tracks strings and nesting only, and
// just the members the caller wants are collected and handed to JSON.parse. The Debian security
// tracker file is ~70 MB of one line; a host needs the entries of a few hundred source packages of
// it. Parsing all of it takes ~4x the time and ~2.5x the memory (bench/scan.ts measures both), and
// streaming parsers (stream-json) tokenize every value, which is slower still: hence this.
import { closeSync, openSync, readSync } from 'node:fs';
import { DrydockError } from '../../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

type Phase = 'start' | 'key' | 'inKey' | 'colon' | 'value' | 'inValue' | 'afterValue' | 'done';

/** Feed it chunks of the file; it calls onMember(key, parsed value) for each wanted top-level member. */
export class TopLevelMembers {
  private phase: Phase = 'start';
  private offset = 0;
  private keyParts: Buffer[] = [];
  private key = '';
  private wanted = false;
  private valueParts: Buffer[] = [];
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false;
  count = 0;

  constructor(
    private readonly what: string,
    private readonly want: (key: string) => boolean,
    private readonly onMember: (key: string, value: unknown) => void,
  ) {}

  private bad(at: number, chunk: Buffer): DrydockError {
    const around = chunk.subarray(Math.max(0, at - 20), at + 20).toString('utf8');
    return new DrydockError(
      'VALIDATION_FAILED',
      `${this.what} is not a JSON object: unexpected input at byte ${this.offset + at} (${JSON.stringify(around)})`,
      { details: { reason: 'invalid_output' } },
    );
  }

  private endValue(chunk: Buffer, end: number, valueStart: number): void {
    if (this.wanted) {
      this.valueParts.push(chunk.subarray(valueStart, end));
      const text = Buffer.concat(this.valueParts).toString('utf8');
      this.valueParts = [];
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw this.bad(end, chunk);
      }
      this.onMember(this.key, value);
    }
    this.count++;
    this.phase = 'afterValue';
  }

  feed(chunk: Buffer): void {
    let valueStart = this.phase === 'inValue' ? 0 : -1;
    let keyStart = this.phase === 'inKey' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      switch (this.phase) {
        case 'start':
          if (isSpace(c)) continue;
          if (c !== OPEN_BRACE) throw this.bad(i, chunk);
          this.phase = 'key';
          continue;
        case 'key':
          if (isSpace(c)) continue;
          if (c === CLOSE_BRACE && this.count === 0) {
            this.phase = 'done';
            continue;
          }
          if (c !== QUOTE) throw this.bad(i, chunk);
          this.phase = 'inKey';
          this.escaped = false;
          keyStart = i;
          continue;
        case 'inKey':
          if (this.escaped) this.escaped = false;
          else if (c === BACKSLASH) this.escaped = true;
          else if (c === QUOTE) {
            this.keyParts.push(chunk.subarray(keyStart, i + 1));
            this.key = JSON.parse(Buffer.concat(this.keyParts).toString('utf8')) as string;
            this.keyParts = [];
            keyStart = -1;
            this.wanted = this.want(this.key);
            this.phase = 'colon';
          }
          continue;
        case 'colon':
          if (isSpace(c)) continue;
          if (c !== COLON) throw this.bad(i, chunk);
          this.phase = 'value';
          continue;
        case 'value':
          if (isSpace(c)) continue;
          this.phase = 'inValue';
          valueStart = i;
          this.depth = 0;
          this.inString = false;
          this.escaped = false;
          this.scalar = c !== OPEN_BRACE && c !== OPEN_BRACKET && c !== QUOTE;
          if (c === QUOTE) this.inString = true;
          else if (!this.scalar) this.depth = 1;
          continue;
        case 'inValue':
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === BACKSLASH) this.escaped = true;
            else if (c === QUOTE) {
              this.inString = false;
              if (this.depth === 0) this.endValue(chunk, i + 1, valueStart);
            }
            continue;
          }
          if (this.scalar) {
            if (c === COMMA || c === CLOSE_BRACE || isSpace(c)) {
              this.endValue(chunk, i, valueStart);
              i--; // the delimiter belongs to afterValue
            }
            continue;
          }
          if (c === QUOTE) this.inString = true;
          else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
          else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
            this.depth--;
            if (this.depth === 0) this.endValue(chunk, i + 1, valueStart);
          }
          continue;
        case 'afterValue':
          if (isSpace(c)) continue;
          if (c === COMMA) this.phase = 'key';
          else if (c === CLOSE_BRACE) this.phase = 'done';
          else throw this.bad(i, chunk);
          continue;
        case 'done':
          if (!isSpace(c)) throw this.bad(i, chunk);
          continue;
      }
    }
    if (this.phase === 'inValue' && this.wanted) this.valueParts.push(chunk.subarray(valueStart));
    if (this.phase === 'inKey') this.keyParts.push(chunk.subarray(keyStart));
    this.offset += chunk.length;
  }

  end(): number {
    if (this.phase !== 'done')
      throw new DrydockError(
        'VALIDATION_FAILED',
        `${this.what} is not a JSON object: it ends early, at byte ${this.offset}`,
        {
          details: { reason: 'invalid_output' },
        },
      );
    return this.count;
  }
}

/** Calls onMember for each wanted top-level member of the object in `buf`; returns how many members it has. */
export function eachTopLevelMember(
  buf: Buffer,
  what: string,
  want: (key: string) => boolean,
  onMember: (key: string, value: unknown) => void,
): number {
  const reader = new TopLevelMembers(what, want, onMember);
  reader.feed(buf);
  return reader.end();
}

/** The same over a file read in 4 MiB chunks, so the file is never held whole. */
export function eachTopLevelMemberOfFile(
  file: string,
  what: string,
  want: (key: string) => boolean,
  onMember: (key: string, value: unknown) => void,
): number {
  const reader = new TopLevelMembers(what, want, onMember);
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      // A copy: a wanted value that spans chunks keeps slices of earlier ones.
      reader.feed(Buffer.from(chunk.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  return reader.end();
}

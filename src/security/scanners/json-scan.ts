// Reads the top-level members of a large JSON object without parsing the whole of it: one pass over
// the bytes finds where each member's value begins and ends (tracking strings and nesting only), and
// only the members the caller wants are handed to JSON.parse. The Debian security tracker file is
// ~70 MB of one line; parsing all of it takes ~5x the memory and time of parsing the few hundred
// source packages a host has (bench/scan.ts measures both). Streaming parsers (stream-json) tokenize
// every value and are slower still, which is why this is written here.
import { DrydockError } from '../../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function bad(what: string, at: number, buf: Buffer): DrydockError {
  const around = buf.subarray(Math.max(0, at - 20), at + 20).toString('utf8');
  return new DrydockError(
    'VALIDATION_FAILED',
    `${what} is not a JSON object: unexpected input at byte ${at} (${JSON.stringify(around)})`,
    {
      details: { reason: 'invalid_output' },
    },
  );
}

/** End (exclusive) of the string starting at `i` (which holds the opening quote). */
function skipString(buf: Buffer, i: number, what: string): number {
  for (let j = i + 1; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw bad(what, i, buf);
}

/** End (exclusive) of the value starting at `i`. */
function skipValue(buf: Buffer, i: number, what: string): number {
  const first = buf[i];
  if (first === QUOTE) return skipString(buf, i, what);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < buf.length; j++) {
      const c = buf[j]!;
      if (c === QUOTE) j = skipString(buf, j, what) - 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw bad(what, i, buf);
  }
  let j = i;
  while (j < buf.length && buf[j] !== COMMA && buf[j] !== CLOSE_BRACE && !isSpace(buf[j]!)) j++;
  return j;
}

/**
 * Calls `onMember(key, value)` for each top-level member of the object in `buf` whose key `want`
 * accepts; the value is parsed only then. Returns how many members the object has.
 */
export function eachTopLevelMember(
  buf: Buffer,
  what: string,
  want: (key: string) => boolean,
  onMember: (key: string, value: unknown) => void,
): number {
  let i = 0;
  const skipSpace = () => {
    while (i < buf.length && isSpace(buf[i]!)) i++;
  };
  skipSpace();
  if (buf[i] !== OPEN_BRACE) throw bad(what, i, buf);
  i++;
  let count = 0;
  for (;;) {
    skipSpace();
    if (buf[i] === CLOSE_BRACE) return count;
    if (buf[i] !== QUOTE) throw bad(what, i, buf);
    const keyEnd = skipString(buf, i, what);
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string;
    i = keyEnd;
    skipSpace();
    if (buf[i] !== COLON) throw bad(what, i, buf);
    i++;
    skipSpace();
    const end = skipValue(buf, i, what);
    count++;
    if (want(key)) {
      try {
        onMember(key, JSON.parse(buf.toString('utf8', i, end)));
      } catch (error) {
        if (error instanceof DrydockError) throw error;
        throw bad(what, i, buf);
      }
    }
    i = end;
    skipSpace();
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    if (buf[i] === CLOSE_BRACE) return count;
    throw bad(what, i, buf);
  }
}

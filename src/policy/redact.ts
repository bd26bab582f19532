// Secrets never reach logs, notifications or the activity log. Every resolved secret value is
// registered here, and every text or object that leaves Drydock passes through `redact`.
const MASK = '[redacted]';
const SECRET_KEYS = /pass(word)?|secret|token|api[_-]?key|authorization|credential/i;

class Redactor {
  private readonly values = new Set<string>();

  register(value: string | undefined): void {
    // Very short values would mask ordinary words; refuse to treat them as maskable.
    if (value && value.length >= 4) this.values.add(value);
  }

  text(input: string): string {
    let out = input;
    for (const value of this.values) out = out.split(value).join(MASK);
    // Private keys (TLS keys, ACME account keys) in PEM, whole or cut off at the end of the text.
    out = out.replace(/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g, MASK);
    // Connection strings: postgres://user:pass@host
    out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)(@)/gi, `$1${MASK}$3`);
    return out;
  }

  value<T>(input: T): T {
    return this.walk(input, 0) as T;
  }

  private walk(input: unknown, depth: number): unknown {
    if (depth > 20) return input;
    if (typeof input === 'string') return this.text(input);
    if (Array.isArray(input)) return input.map((item) => this.walk(item, depth + 1));
    if (input && typeof input === 'object' && !(input instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(input)) {
        out[key] = SECRET_KEYS.test(key) && typeof value === 'string' ? MASK : this.walk(value, depth + 1);
      }
      return out;
    }
    return input;
  }
}

/** The process-wide redactor: secrets are registered as they are resolved. */
export const redactor = new Redactor();

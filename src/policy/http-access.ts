// The policy keys of issue 9 under `http:` (spread into the schema's http section). A function of
// the schema's secret reference so this file does not import schema.ts (which imports it).
import { z } from 'zod';
import { byteSize, positiveDuration, str } from './fields.js';

export function httpAccessFields<S extends z.ZodType>(secretRef: S) {
  return {
    /**
     * Credentials Prometheus must send to /metrics: a bearer token, or basic auth. Unset: /metrics
     * is public (it holds no secrets). Each must be a secret reference to 32+ random characters.
     */
    metrics_auth: z
      .strictObject({
        bearer: secretRef.optional(),
        basic: z.strictObject({ user: str('a user name'), password: secretRef }).optional(),
      })
      .optional(),
    /** Largest request body accepted (413 beyond it). */
    max_body: byteSize().prefault('64KiB'),
    /** How long a browser session (cookie) lasts. */
    session_ttl: positiveDuration().prefault('12 hours'),
  };
}

// The policy keys of TLS validation and ACME renewal (network.ssl.validation / network.ssl.renewal),
// spread into the spec's `network.ssl` section in schema.ts. The spec gives the schedule, the 30-day
// threshold, `automatic` and the alert kinds; everything else here is chosen for it and listed in the
// README ("TLS certificates: validation and renewal").
import { z } from 'zod';
import { duration, identifier, int, list, positiveDuration, str, timeOfDay } from './fields.js';

const port = () => int(1).max(65535);

/** Where a TLS service listens, and how its clients start TLS there. */
export const tlsEndpoint = z.strictObject({
  host: str('a host name or IP address'),
  port: port().default(443),
  /** Sent as SNI and matched against the certificate; the host when absent. */
  servername: str('a host name').optional(),
  /** tls: TLS from the first byte (HTTPS, SMTPS, ...); smtp: STARTTLS; postgres: PostgreSQL's SSLRequest. */
  protocol: z.enum(['tls', 'smtp', 'postgres']).default('tls'),
});

export const tlsValidationFields = {
  /** The TLS services to check; the endpoints of `network.ssl.renewal.certificates` are checked too. */
  endpoints: list(
    tlsEndpoint.extend({
      /** A label for records and alerts; "host:port" when absent. */
      name: str('a name').optional(),
      /** PEM file of the CA(s) to trust instead of the system store (a private CA). */
      ca_file: str('a file path').optional(),
    }),
  ).prefault([]),
  /**
   * An expiry alert when less is left on a certificate of the chain than the smaller of this and a
   * sixth of its lifetime (half the renewal margin).
   */
  expiry_alert: positiveDuration().prefault('14 days'),
  /** Per connection: TCP connect, STARTTLS and handshake together. */
  timeout: positiveDuration().prefault('10 seconds'),
  /** Endpoints checked at once. */
  concurrency: int(1).max(256).default(16),
  min_key_bits: z.strictObject({ rsa: int(1024).default(2048), ec: int(160).default(256) }).prefault({}),
};

const command = list(str('a program or argument')).min(1);

export const tlsCertificate = z
  .strictObject({
    name: identifier('a certificate name'),
    /** The first is the subject's common name; all are subject alternative names. */
    domains: list(str('a domain name')).min(1),
    challenge: z.enum(['http-01', 'dns-01']).default('http-01'),
    /** http-01: Drydock answers the challenge itself on this address ("0.0.0.0:80"), or writes it under `webroot`/.well-known/acme-challenge/. */
    http: z
      .strictObject({
        listen: str('host:port').optional(),
        webroot: str('the document root the web server serves for the domains (certbot --webroot)').optional(),
      })
      .refine((h) => Boolean(h.listen) !== Boolean(h.webroot), { message: 'give exactly one of "listen" or "webroot"' })
      .optional(),
    /**
     * dns-01: commands that create and remove the TXT record (certbot's manual hooks). They get
     * DRYDOCK_ACME_DOMAIN, DRYDOCK_ACME_RECORD (_acme-challenge.<domain>) and DRYDOCK_ACME_VALUE.
     */
    dns: z
      .strictObject({
        set: command,
        unset: command.optional(),
        /** Wait after `set` before asking the CA to look (DNS propagation to the authoritative servers). */
        wait: duration().prefault('0 seconds'),
      })
      .optional(),
    /** Written atomically with mode 0600; the previous key stays beside it as <file>.previous. */
    key_file: str('a file path'),
    /** The leaf and its intermediates (fullchain), written atomically; the previous one as <file>.previous. */
    cert_file: str('a file path'),
    key_type: z.enum(['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']).default('ec-p256'),
    /** Run after the new pair is in place (e.g. ["systemctl", "reload", "nginx"]); never through a shell. */
    reload: command.optional(),
    reload_timeout: positiveDuration().prefault('1 minute'),
    /** Where the certificate is served: after the reload, Drydock connects here and compares fingerprints. */
    endpoint: tlsEndpoint.optional(),
    /** How long after the reload the endpoint may take to serve the new certificate (workers finishing). */
    prove_timeout: positiveDuration().prefault('30 seconds'),
  })
  .superRefine((c, ctx) => {
    if (c.challenge === 'http-01' && !c.http)
      ctx.addIssue({ code: 'custom', path: ['http'], message: 'http-01 needs http: {listen: ...} or {webroot: ...}' });
    if (c.challenge === 'dns-01' && !c.dns)
      ctx.addIssue({ code: 'custom', path: ['dns'], message: 'dns-01 needs dns: {set: [...], unset: [...]}' });
  });

export const tlsRenewalFields = {
  /** Daily, before the 06:00 validation, so the validation sees the renewed certificates. */
  time: timeOfDay().prefault('05:30 UTC'),
  acme: z
    .strictObject({
      directory: str('a URL')
        .url({ message: 'expected the ACME directory URL' })
        .default('https://acme-v02.api.letsencrypt.org/directory'),
      email: str('an email address').optional(),
      /** The ACME account key (PEM). Created with mode 0600 on first use when the file does not exist. */
      account_key_file: str('a file path').default('/var/lib/drydock/acme/account.key'),
      /** PEM file of the CA that signs the ACME server's HTTPS certificate (a private CA such as pebble's). */
      ca_file: str('a file path').optional(),
      timeout: positiveDuration().prefault('30 seconds'),
      /**
       * A request the CA answers with 429 or 5xx, or does not answer, is tried again this many times
       * within the run, waiting as its Retry-After says (else 5 s, 10 s, ...).
       */
      request_retries: int(0).max(10).default(3),
    })
    .prefault({}),
  certificates: list(tlsCertificate).prefault([]),
  /**
   * Let's Encrypt allows 5 failed validations per account and hostname per hour: Drydock does not ask
   * the CA again for a certificate that failed this often in the last hour. Retries themselves follow
   * `tasks.network.ssl.renewal.retry` (the engine's exponential backoff).
   */
  failures_per_hour: int(1).max(100).default(5),
};

export type TlsEndpointPolicy = z.output<typeof tlsEndpoint>;
export type TlsCertificatePolicy = z.output<typeof tlsCertificate>;

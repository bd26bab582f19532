// Email over SMTP with nodemailer: implicit TLS (port 465) or STARTTLS (required by default), with
// optional auth. The message id becomes the Message-ID header so a retried send is recognisable.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import { redactor } from '../../policy/redact.js';
import { resolveSecret } from '../../policy/secrets.js';
import type { ChannelConfig } from '../../policy/schema.js';
import type { Channel, DeliveryResult } from '../types.js';

export type EmailConfig = Extract<ChannelConfig, { type: 'email' }>;

function classifySmtpError(error: unknown): DeliveryResult {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  const code = e.code ?? 'ERROR';
  // 4xx replies are temporary by SMTP's own rules; 5xx, bad auth and bad envelopes will not get better.
  const retryable =
    e.responseCode !== undefined
      ? e.responseCode >= 400 && e.responseCode < 500
      : !['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETLS'].includes(code);
  const what = e.responseCode ? `SMTP ${e.responseCode}` : code;
  return {
    ok: false,
    detail: redactor.text(`${what}: ${(e.response ?? e.message ?? String(error)).slice(0, 200)}`),
    retryable,
  };
}

export function createEmailChannel(name: string, config: EmailConfig, env: NodeJS.ProcessEnv = process.env): Channel {
  const password = resolveSecret(config.password, `channels.${name}.password`, env);
  const timeoutMs = config.timeout.ms;
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: !config.secure && config.require_tls,
    ...(config.user ? { auth: { user: config.user, pass: password ?? '' } } : {}),
    // SNI carries host names only (RFC 6066); for an IP address the certificate is checked against the IP.
    tls: {
      ...(config.ca_file ? { ca: readFileSync(config.ca_file, 'utf8') } : {}),
      ...(isIP(config.host) ? {} : { servername: config.host }),
    },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    name,
    type: 'email',
    async send(message) {
      const to = message.to && message.to.length > 0 ? message.to : config.to;
      if (to.length === 0) return { ok: false, detail: 'no email recipients', retryable: false };
      try {
        const info = await transport.sendMail({
          from: config.from,
          to,
          subject: message.subject,
          text: message.text,
          messageId: `<${message.id}@drydock>`,
          headers: { 'X-Drydock-Notice': message.kind },
        });
        const rejected = (info.rejected ?? []).map(String);
        if (rejected.length > 0 && (info.accepted ?? []).length === 0)
          return { ok: false, detail: `rejected: ${rejected.join(', ')}`, retryable: false };
        return {
          ok: true,
          detail: redactor.text(`${info.response ?? 'accepted'} (${config.host}:${config.port})`),
          retryable: false,
        };
      } catch (error) {
        return classifySmtpError(error);
      }
    },
  };
}

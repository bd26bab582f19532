// A generic JSON webhook (Drydock's own shape or Slack-compatible `{text}`), with an optional bearer token.
import { resolveSecret } from '../../policy/secrets.js';
import type { ChannelConfig } from '../../policy/schema.js';
import type { Channel, OutboundMessage } from '../types.js';

export type WebhookConfig = Extract<ChannelConfig, { type: 'webhook' }>;

function payload(format: WebhookConfig['format'], message: OutboundMessage): unknown {
  if (format === 'slack') return { text: `*${message.subject}*\n${message.text}` };
  return { id: message.id, kind: message.kind, subject: message.subject, text: message.text, data: message.data };
}

/** POSTs JSON (Drydock's own shape, or Slack-compatible `{text}`) with global fetch. */
export function createWebhookChannel(
  name: string,
  config: WebhookConfig,
  env: NodeJS.ProcessEnv = process.env,
): Channel {
  const token = resolveSecret(config.token, `channels.${name}.token`, env);
  // A URL or header that carries a credential is a secret reference (refused inline by the schema).
  const url = typeof config.url === 'string' ? config.url : resolveSecret(config.url, `channels.${name}.url`, env)!;
  const extraHeaders = Object.fromEntries(
    Object.entries(config.headers).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : resolveSecret(value, `channels.${name}.headers.${key}`, env)!,
    ]),
  );
  const timeoutMs = config.timeout.ms;
  return {
    name,
    type: 'webhook',
    async send(message, signal) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': message.id,
        ...extraHeaders,
      };
      if (token) headers.authorization = `Bearer ${token}`;
      const target = new URL(url);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(payload(config.format, message)),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        const ok = response.status >= 200 && response.status < 300;
        return {
          ok,
          detail: `HTTP ${response.status} from ${target.host}`,
          retryable: !ok && (response.status >= 500 || response.status === 429),
        };
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        return {
          ok: false,
          detail: `${cause?.code ?? (error as Error).name} reaching ${target.host}`,
          retryable: true,
        };
      }
    },
  };
}

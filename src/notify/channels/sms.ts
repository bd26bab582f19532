// SMS through a Twilio-style HTTP API: POST a form (To, From, Body) to
// {base}/2010-04-01/Accounts/{sid}/Messages.json with basic auth sid:token. Account and token come
// from the environment or a file (secret references), never from the policy text.
import { redactor } from '../../policy/redact.js';
import { resolveSecret } from '../../policy/secrets.js';
import type { ChannelConfig } from '../../policy/schema.js';
import type { Channel, OutboundMessage } from '../types.js';

export type SmsConfig = Extract<ChannelConfig, { type: 'sms' }>;

/** An SMS is short: the subject and the first line of the text, within 320 characters. */
export function smsBody(message: OutboundMessage): string {
  const firstLine = message.text.split('\n').find((line) => line.trim() !== '') ?? '';
  const body = `${message.subject}${firstLine ? ` - ${firstLine.trim()}` : ''}`;
  return body.length > 320 ? `${body.slice(0, 317)}...` : body;
}

export function createSmsChannel(name: string, config: SmsConfig, env: NodeJS.ProcessEnv = process.env): Channel {
  const sid = resolveSecret(config.account_sid, `channels.${name}.account_sid`, env)!;
  const token = resolveSecret(config.auth_token, `channels.${name}.auth_token`, env)!;
  const timeoutMs = config.timeout.ms;
  const url = `${config.base_url.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
  const host = new URL(config.base_url).host;
  const authorization = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
  return {
    name,
    type: 'sms',
    async send(message, signal) {
      const to = message.to && message.to.length > 0 ? message.to : config.to;
      if (to.length === 0) return { ok: false, detail: 'no SMS recipients', retryable: false };
      const details: string[] = [];
      for (const number of to) {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: new URLSearchParams({ To: number, From: config.from, Body: smsBody(message) }).toString(),
            signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
          });
          const body = (await response.json().catch(() => ({}))) as { sid?: string; message?: string };
          if (response.status < 200 || response.status >= 300) {
            return {
              ok: false,
              detail: redactor.text(
                `HTTP ${response.status} from ${host} for ${number}${body.message ? `: ${body.message}` : ''}`,
              ),
              retryable: response.status >= 500 || response.status === 429,
            };
          }
          details.push(`${number}: ${body.sid ?? `HTTP ${response.status}`}`);
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause;
          return { ok: false, detail: `${cause?.code ?? (error as Error).name} reaching ${host}`, retryable: true };
        }
      }
      return { ok: true, detail: redactor.text(`HTTP 201 from ${host}; ${details.join(', ')}`), retryable: false };
    },
  };
}

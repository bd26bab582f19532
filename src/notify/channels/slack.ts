// Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): `{text, blocks}`. The URL
// carries its own secret, so it is a secret reference and never appears in a delivery detail.
import { resolveSecret } from '../../policy/secrets.js';
import type { ChannelConfig } from '../../policy/schema.js';
import type { Channel, OutboundMessage } from '../types.js';

export type SlackConfig = Extract<ChannelConfig, { type: 'slack' }>;

const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack's message shape: a plain `text` fallback plus a header and a section block. */
export function slackPayload(message: OutboundMessage): { text: string; blocks: unknown[] } {
  return {
    text: `${escapeMrkdwn(message.subject)}\n${escapeMrkdwn(message.text)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: message.subject.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(message.text).slice(0, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Drydock · ${message.kind} · ${message.id}` }] },
    ],
  };
}

export function createSlackChannel(name: string, config: SlackConfig, env: NodeJS.ProcessEnv = process.env): Channel {
  const url = resolveSecret(config.url, `channels.${name}.url`, env)!;
  const timeoutMs = config.timeout.ms;
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return 'the webhook host';
    }
  })();
  return {
    name,
    type: 'slack',
    async send(message, signal) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(slackPayload(message)),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        });
        const text = (await response.text()).slice(0, 100);
        const ok = response.status >= 200 && response.status < 300;
        return {
          ok,
          detail: `HTTP ${response.status} from ${host}${ok ? '' : `: ${text}`}`,
          retryable: !ok && (response.status >= 500 || response.status === 429),
        };
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        return { ok: false, detail: `${cause?.code ?? (error as Error).name} reaching ${host}`, retryable: true };
      }
    },
  };
}

// A real HTTP receiver (the suite's one, test/helpers/peers.ts) behind the real webhook channel, so
// alert delivery crosses a socket exactly as in production.
import { createWebhookChannel } from '../../src/notify/channels/webhook.js';
import type { Channel, OutboundMessage } from '../../src/notify/types.js';
import { policySchema } from '../../src/policy/schema.js';
import { startHttp } from '../helpers/peers.js';

export interface HttpSink {
  url: string;
  /** The messages received so far, as the webhook posted them. */
  received: OutboundMessage[];
  channel: Channel;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const received: OutboundMessage[] = [];
  const peer = await startHttp((req, res) => {
    received.push(JSON.parse(req.body) as OutboundMessage);
    res.writeHead(204).end();
  });
  const url = `${peer.url}/alerts`;
  const config = policySchema.parse({ channels: { ops: { type: 'webhook', url } } }).channels.ops;
  if (config?.type !== 'webhook') throw new Error('the policy did not keep the webhook channel');
  return { url, received, channel: createWebhookChannel('ops', config), close: () => peer.close() };
}

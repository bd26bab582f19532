// A real HTTP receiver and a Channel that posts to it, so alert delivery crosses a socket.
import { createServer, type Server } from 'node:http';
import type { Channel, OutboundMessage } from '../../src/notify/types.js';

export interface HttpSink {
  url: string;
  received: OutboundMessage[];
  channel: Channel;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const received: OutboundMessage[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(JSON.parse(body) as OutboundMessage);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/alerts`;
  const channel: Channel = {
    name: 'ops',
    type: 'webhook',
    async send(message) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          body: JSON.stringify(message),
          headers: { 'content-type': 'application/json' },
        });
        return { ok: response.ok, detail: `HTTP ${response.status}`, retryable: response.status >= 500 };
      } catch (error) {
        return { ok: false, detail: (error as Error).message, retryable: true };
      }
    },
  };
  return { url, received, channel, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// Serves a hono app on a real loopback port for a test, and stops it.
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function serveApp(app: Hono<any>): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    }) as Server;
  });
}

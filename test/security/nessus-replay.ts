// A local HTTP server that replays recorded Nessus REST responses (fixtures/nessus/responses.json,
// written from Nessus's documented API), since Nessus itself cannot run here. Each "METHOD /path"
// answers its recorded responses in order and repeats the last; requests without the expected
// X-ApiKeys header get 401 as Nessus answers them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttp, type HttpPeer } from '../helpers/peers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'nessus');

interface Recorded {
  status: number;
  body?: unknown;
  file?: string;
  contentType?: string;
}

export interface NessusReplay extends HttpPeer {
  calls: string[];
}

export async function startNessusReplay(
  keys: { access: string; secret: string },
  overrides: Record<string, Recorded[]> = {},
): Promise<NessusReplay> {
  const recorded = {
    ...(JSON.parse(readFileSync(join(DIR, 'responses.json'), 'utf8')) as Record<string, Recorded[]>),
    ...overrides,
  };
  const served = new Map<string, number>();
  const calls: string[] = [];
  const peer = await startHttp((req, res) => {
    const key = `${req.method} ${req.url}`;
    calls.push(key);
    if (req.headers['x-apikeys'] !== `accessKey=${keys.access}; secretKey=${keys.secret}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Invalid Credentials' }));
      return;
    }
    const list = recorded[key];
    if (!list || !Array.isArray(list)) {
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: 'The requested file was not found.' }));
      return;
    }
    const n = served.get(key) ?? 0;
    served.set(key, n + 1);
    const r = list[Math.min(n, list.length - 1)]!;
    if (r.file) {
      res
        .writeHead(r.status, { 'Content-Type': r.contentType ?? 'application/octet-stream' })
        .end(readFileSync(join(DIR, r.file)));
      return;
    }
    res.writeHead(r.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(r.body ?? {}));
  });
  return Object.assign(peer, { calls });
}

// drydock.advisories.refresh against a local HTTP server serving recorded advisory files: a whole
// JSON download replaces the file; an error page or an unreachable source leaves it as it was and
// fails the run naming host and port.
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startHttp, type HttpPeer } from '../helpers/peers.js';
import { FIXTURES, securityBed, type SecurityBed } from './helpers.js';

const START = new Date('2026-11-02T04:30:00Z');
let bed: SecurityBed;
let source: HttpPeer;

beforeAll(async () => {
  bed = await securityBed();
  source = await startHttp((req, res) => {
    if (req.url === '/tracker/data/json')
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(readFileSync(join(FIXTURES, 'debian-tracker.json')));
    else res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
  });
});
afterAll(async () => {
  await source?.close();
  await bed?.close();
});

describe('drydock.advisories.refresh', () => {
  it('replaces a file with a whole JSON download and keeps it when the source fails', async () => {
    const tracker = join(bed.dir, 'tracker-refreshed.json');
    const osv = join(bed.dir, 'osv-kept.json');
    writeFileSync(tracker, '{}');
    writeFileSync(osv, '[]');
    const old = new Date('2026-10-20T00:00:00Z');
    utimesSync(osv, old, old);
    const port = await closedPort();
    const app = await bed.app(
      {
        security: {
          advisories: {
            sources: [
              { url: `${source.url}/tracker/data/json`, file: tracker },
              { url: `${source.url}/osv/npm.json`, file: osv },
              { url: `http://127.0.0.1:${port}/osv/npm.json`, file: osv },
            ],
          },
        },
      },
      START,
    );
    const run = await app.engine.run('drydock.advisories.refresh', { trigger: 'manual' });
    expect(run.status).toBe('failed');
    expect(readFileSync(tracker).equals(readFileSync(join(FIXTURES, 'debian-tracker.json')))).toBe(true);
    expect(readFileSync(osv, 'utf8')).toBe('[]');
    expect(statSync(osv).mtime).toEqual(old);
    expect(run.error).toMatch(
      /the download of http:\/\/127\.0\.0\.1:\d+\/osv\/npm\.json is not JSON .*it begins:\n<html><body>Service Unavailable/,
    );
    expect(run.error).toMatch(new RegExp(`advisory source 127\\.0\\.0\\.1:${port} cannot be reached: ECONNREFUSED`));
    expect(run.summary).toContainEqual(
      expect.stringMatching(/osv-kept\.json: not refreshed, used as it is \(13\.2 days old\)/),
    );
    expect(run.summary).toContainEqual(expect.stringMatching(/tracker-refreshed\.json: refreshed \(\d+ bytes\)/));
  });
});

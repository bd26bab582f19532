// Inline credentials in webhook URLs and headers are refused at load (so `config check` lists
// them with their paths); written as secret references they work and `config print` masks them.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parsePolicy } from '../../src/policy/load.js';
import { createWebhookChannel } from '../../src/notify/channels/webhook.js';
import { startHttp, type HttpPeer } from '../helpers/peers.js';

let dir: string;
let peer: HttpPeer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-webhook-secrets-'));
  peer = await startHttp((_req, res) => res.writeHead(200).end('ok'));
});
afterAll(async () => {
  await peer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const hook = (webhook: Record<string, unknown>) => ({ channels: { hook: { type: 'webhook', ...webhook } } });

function drydock(args: string[], env: Record<string, string> = {}) {
  const main = resolve(import.meta.dirname, '../../src/cli/main.ts');
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), main, ...args], {
    env: { ...process.env, DRYDOCK_POLICY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    child.on('close', (code) => r({ code, stdout, stderr })),
  );
}

describe('webhook credentials', () => {
  it('refuses URLs and headers that carry a credential inline, naming each', () => {
    for (const [url, why] of [
      ['https://user:pa55@hooks.example.com/x', /user name or password/],
      ['https://hooks.example.com/notify?token=abc', /credential in its query \(parameter "token"\)/],
      ['https://hooks.example.com/notify?api_key=abc', /parameter "api_key"/],
      ['https://hooks.example.com/services/T000/B000/XyZ9aBcD3eFgH1jKlMn0pQr', /looks like a secret in its path/],
    ] as const)
      expect(() => parsePolicy(hook({ url })), url).toThrow(why);
    expect(() =>
      parsePolicy(hook({ url: 'https://hooks.example.com/notify', headers: { Authorization: 'Bearer abc123' } })),
    ).toThrow(/channels\.hook\.headers\.Authorization: header Authorization carries a credential/);
    expect(() =>
      parsePolicy(hook({ url: 'https://hooks.example.com/notify', headers: { 'X-Auth-Token': 'abc' } })),
    ).toThrow(/X-Auth-Token carries a credential/);
    // Plain URLs and harmless headers stay as they are.
    expect(() =>
      parsePolicy(hook({ url: 'https://hooks.example.com/notify?channel=ops', headers: { 'X-Team': 'ops' } })),
    ).not.toThrow();
  });

  it('delivers with secret-reference URLs and headers, and config print masks them', async () => {
    const secretUrl = `${peer.url}/hooks/T000/B000/XyZ9aBcD3eFgH1jKlMn0pQr`;
    const policy = parsePolicy(
      hook({ url: { env: 'HOOK_URL' }, headers: { Authorization: { env: 'HOOK_AUTH' }, 'X-Team': 'ops' } }),
    );
    const config = policy.channels.hook!;
    if (config.type !== 'webhook') throw new Error('expected a webhook');
    const channel = createWebhookChannel('hook', config, { HOOK_URL: secretUrl, HOOK_AUTH: 'Bearer s3cr3t-value' });
    const result = await channel.send({ id: 'm1', kind: 'test', subject: 's', text: 't', data: {} });
    expect(result.ok).toBe(true);
    const got = peer.requests.at(-1)!;
    expect(got.url).toBe('/hooks/T000/B000/XyZ9aBcD3eFgH1jKlMn0pQr');
    expect(got.headers.authorization).toBe('Bearer s3cr3t-value');

    const file = join(dir, 'drydock.yaml');
    writeFileSync(
      file,
      stringify(hook({ url: { env: 'HOOK_URL' }, headers: { Authorization: { env: 'HOOK_AUTH' } } })),
    );
    const printed = await drydock(['-p', file, 'config', 'print'], {
      HOOK_URL: secretUrl,
      HOOK_AUTH: 'Bearer s3cr3t-value',
    });
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain('HOOK_URL');
    expect(printed.stdout).not.toContain('XyZ9aBcD3eFgH1jKlMn0pQr');
    expect(printed.stdout).not.toContain('s3cr3t-value');
    writeFileSync(file, stringify(hook({ url: 'https://hooks.example.com/notify?token=abc' })));
    const checked = await drydock(['-p', file, 'config', 'check']);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toMatch(/channels\.hook\.url: the URL carries a credential in its query/);
  }, 60_000);
});

import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis, connectRedisSocket, parseInfo, parseInfoFields } from '../../src/adapters/redis.js';
import { DrydockError } from '../../src/errors.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const started: TestRedis[] = [];
afterAll(async () => {
  for (const r of started) await r.stop();
});

describe('parseInfo', () => {
  it('reads key:value lines and replica fields', () => {
    const info = parseInfo(
      '# Replication\r\nrole:master\r\nslave0:ip=127.0.0.1,port=7001,state=online,offset=10,lag=1\r\n\r\n',
    );
    expect(info.role).toBe('master');
    expect(parseInfoFields(info.slave0!)).toEqual({
      ip: '127.0.0.1',
      port: '7001',
      state: 'online',
      offset: '10',
      lag: '1',
    });
  });
});

describe('connectRedis against a real redis-server', () => {
  it('runs commands and INFO on the local Redis', async () => {
    const c = await connectRedis({ host: '127.0.0.1', port: 6379 });
    expect(await c.command(['PING'])).toBe('PONG');
    const info = await c.info('server');
    expect(info.redis_version).toMatch(/^\d+\./);
    expect(await c.ping()).toBeGreaterThan(0);
    await c.close();
    await c.close();
  });

  it('names host:port when nothing listens', async () => {
    const port = await freePort();
    const error = await connectRedis({ host: '127.0.0.1', port }, { connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrydockError);
    expect((error as DrydockError).code).toBe('TARGET_UNREACHABLE');
    expect((error as DrydockError).message).toContain(`127.0.0.1:${port}`);
  });

  it('does not crash when the server dies under an open connection, and times out on a paused one', async () => {
    const redis = await startRedis();
    started.push(redis);
    const c = await connectRedis({ host: redis.host, port: redis.port }, { commandTimeoutMs: 500 });
    redis.pause();
    const paused = await c.command(['PING']).catch((e: unknown) => e);
    expect((paused as DrydockError).code).toBe('TARGET_UNREACHABLE');
    expect((paused as DrydockError).message).toContain(`127.0.0.1:${redis.port}`);
    redis.resume();
    const c2 = await connectRedis({ host: redis.host, port: redis.port });
    await redis.stop();
    await new Promise((r) => setTimeout(r, 100));
    const dead = await c2.command(['PING']).catch((e: unknown) => e);
    expect((dead as DrydockError).code).toBe('TARGET_UNREACHABLE');
    await c2.close();
    await c.close();
  });

  it('reports refused credentials as TARGET_AUTH_FAILED', async () => {
    const redis = await startRedis(['--requirepass', 'sekret-pass']);
    started.push(redis);
    const error = await connectRedis(
      { host: redis.host, port: redis.port, password: { env: 'DRYDOCK_TEST_REDIS_PW' } },
      { env: { DRYDOCK_TEST_REDIS_PW: 'wrong-password' } },
    ).catch((e: unknown) => e);
    expect((error as DrydockError).code).toBe('TARGET_AUTH_FAILED');
    const ok = await connectRedis(
      { host: redis.host, port: redis.port, password: { env: 'DRYDOCK_TEST_REDIS_PW' } },
      { env: { DRYDOCK_TEST_REDIS_PW: 'sekret-pass' } },
    );
    expect(await ok.command(['PING'])).toBe('PONG');
    await ok.close();
  });

  it('a raw socket (the PSYNC snapshot reader) survives the server dying under it, and names host:port when refused', async () => {
    const redis = await startRedis();
    started.push(redis);
    const socket = await connectRedisSocket({ host: redis.host, port: redis.port });
    let closed = false;
    socket.once('close', () => (closed = true));
    await redis.stop();
    await waitFor('the socket to close', () => closed);
    expect(socket.destroyed).toBe(true);
    const port = await freePort();
    const error = await connectRedisSocket({ host: '127.0.0.1', port, connectTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect((error as DrydockError).code).toBe('TARGET_UNREACHABLE');
    expect((error as DrydockError).message).toContain(`127.0.0.1:${port}`);
  });
});

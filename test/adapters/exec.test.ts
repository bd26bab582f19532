import { describe, expect, it } from 'vitest';
import { exec, spawnProcess } from '../../src/adapters/exec.js';
import { DrydockError } from '../../src/errors.js';
import { redactor } from '../../src/policy/redact.js';

async function failure(promise: Promise<unknown>): Promise<DrydockError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DrydockError);
  return error as DrydockError;
}

describe('exec', () => {
  it('returns the output of a program that succeeds, without a shell', async () => {
    const result = await exec('printf', ['%s|', 'a b', '$(id)', ';rm -rf /']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('a b|$(id)|;rm -rf /|');
  });

  it('turns a non-zero exit into EXEC_FAILED with the end of stderr and the hint', async () => {
    const error = await failure(
      exec('sh', ['-c', 'echo first >&2; echo boom >&2; exit 3'], { what: 'the probe', hint: 'check the probe' }),
    );
    expect(error.code).toBe('EXEC_FAILED');
    expect(error.message).toMatch(/^the probe exited with status 3:\nfirst\nboom$/);
    expect(error.hint).toBe('check the probe');
  });

  it('accepts the exit codes it is told to', async () => {
    expect((await exec('sh', ['-c', 'exit 1'], { okCodes: [0, 1] })).code).toBe(1);
  });

  it('names a missing program', async () => {
    const error = await failure(exec('/nonexistent/drydock-tool', []));
    expect(error.code).toBe('EXEC_FAILED');
    expect(error.message).toContain('/nonexistent/drydock-tool not found');
  });

  it('stops a program that runs past its timeout, then SIGKILLs one that ignores SIGTERM', async () => {
    const started = Date.now();
    const error = await failure(exec('sh', ['-c', 'trap "" TERM; sleep 30'], { timeoutMs: 200 }));
    expect(error.code).toBe('EXEC_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops a program when the run is aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(exec('sleep', ['30'], { signal: controller.signal }));
    expect(error.code).toBe('ABORTED');
  });

  it('passes only allow-listed environment variables, plus the ones named', async () => {
    process.env.DRYDOCK_EXEC_TEST_SECRET = 'not-for-children';
    try {
      const plain = await exec('sh', ['-c', 'echo "[$DRYDOCK_EXEC_TEST_SECRET][$EXTRA]"'], { env: { EXTRA: 'x' } });
      expect(plain.stdout.trim()).toBe('[][x]');
      const named = await exec('sh', ['-c', 'echo "[$DRYDOCK_EXEC_TEST_SECRET]"'], {
        inheritEnv: ['DRYDOCK_EXEC_TEST_SECRET'],
      });
      expect(named.stdout.trim()).toBe('[not-for-children]');
    } finally {
      delete process.env.DRYDOCK_EXEC_TEST_SECRET;
    }
  });

  it('redacts registered secrets from captured output and error messages', async () => {
    redactor.register('s3cr3t-exec-value');
    const ok = await exec('echo', ['token=s3cr3t-exec-value']);
    expect(ok.stdout).not.toContain('s3cr3t-exec-value');
    const error = await failure(exec('sh', ['-c', 'echo "bad s3cr3t-exec-value" >&2; exit 1']));
    expect(error.message).not.toContain('s3cr3t-exec-value');
    expect(error.message).toContain('[redacted]');
  });

  it('keeps at most maxOutput bytes and says it cut', async () => {
    const result = await exec('head', ['-c', '100000', '/dev/zero'], { maxOutput: 1000 });
    expect(result.stdout.length).toBe(1000);
    expect(result.truncated).toBe(true);
  });

  it('feeds input on stdin', async () => {
    expect((await exec('cat', [], { input: 'hello' })).stdout).toBe('hello');
  });
});

describe('spawnProcess', () => {
  it('lets the caller read the stream and reports the exit', async () => {
    const { child, done } = spawnProcess('sh', ['-c', 'echo streamed']);
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await done;
    expect(text).toBe('streamed\n');
  });

  it('rejects with the end of stderr when the program fails', async () => {
    const { done } = spawnProcess('sh', ['-c', 'echo broken >&2; exit 2'], { what: 'pg_dump' });
    const error = await failure(done);
    expect(error.message).toBe('pg_dump exited with status 2:\nbroken');
  });
});

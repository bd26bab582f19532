// Every YAML example in the README is a policy `drydock config check` accepts (the real command, in a
// real process). A block whose first line names another program's file ("# prometheus.yml") is not a
// Drydock policy and is left out.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exec } from '../../src/adapters/exec.js';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function yamlBlocks(markdown: string): Array<{ line: number; text: string }> {
  const blocks: Array<{ line: number; text: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```yaml') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    blocks.push({ line: start + 1, text: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

const OTHER_PROGRAM = /^# \S+\.ya?ml \(/;
const examples = yamlBlocks(README).filter((b) => !OTHER_PROGRAM.test(b.text));
const dir = mkdtempSync(join(tmpdir(), 'drydock-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README policy examples', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
  });

  it.each(examples.map((e) => [e.line, e.text] as const))(
    'README.md:%i passes drydock config check',
    async (line, text) => {
      const file = join(dir, `readme-${line}.yaml`);
      writeFileSync(file, `${text}\n`);
      const result = await exec(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), 'config', 'check', '--policy', file],
        { cwd: dir, okCodes: [0, 1, 2], timeoutMs: 60_000 },
      );
      expect(result.code).toBe(0);
      // Warnings (a stakeholder without a phone, a secret not set here) go to stderr; nothing else does.
      expect(result.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([]);
      expect(result.stdout.split('\n')[0]).toBe(`${file}: ok`);
    },
  );
});

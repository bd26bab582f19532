// The task registry is complete: every task a file under src/tasks/ exports is registered, and every
// procedure of the spec is either implemented or listed as not implemented yet (Renovate's manager
// map + completeness test). Adding a task file without registering it fails here.
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ImplementedTask } from '../../src/engine/types.js';
import { parsePolicy } from '../../src/policy/load.js';
import { createRegistry, IMPLEMENTED, NOT_IMPLEMENTED } from '../../src/tasks/registry.js';

/** The procedures of Dokkerr's spec (spec/maintenance-procedures.md), by the id taken from its keys. */
const SPEC_PROCEDURES = [
  'database.vacuum',
  'database.backup',
  'database.index_rebuild',
  'cache.eviction',
  'cache.replication',
  'cache.backup',
  'cache.metrics',
  'security.patches',
  'security.scans.vulnerability',
  'security.scans.compliance',
  'dependencies.npm',
  'dependencies.system',
  'dependencies.docker',
  'server.health_check',
  'server.cleanup',
  'server.monitoring',
  'network.firewall.review',
  'network.firewall.updates',
  'network.dns.health_check',
  'network.dns.propagation',
  'network.ssl.renewal',
  'network.ssl.validation',
  'backup.database.full',
  'backup.database.incremental',
  'backup.validation.restore_test',
  'backup.validation.integrity_check',
  'backup.files.user_uploads',
  'backup.files.configuration',
  'backup.monitoring',
];

const TASKS_DIR = resolve(import.meta.dirname, '../../src/tasks');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

function isTask(value: unknown): value is ImplementedTask {
  const v = value as Partial<ImplementedTask> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.implemented === true &&
    typeof v.id === 'string' &&
    typeof v.execute === 'function'
  );
}

describe('task registry', () => {
  it('registers every task exported by a file under src/tasks/', async () => {
    const files = sourceFiles(TASKS_DIR).filter((f) => !f.endsWith('registry.ts'));
    expect(files.length).toBeGreaterThan(10);
    const unregistered: string[] = [];
    let found = 0;
    for (const file of files) {
      const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (!isTask(value)) continue;
        found += 1;
        if (!IMPLEMENTED.includes(value)) unregistered.push(`${relative(TASKS_DIR, file)}: ${name} (${value.id})`);
      }
    }
    expect(found).toBe(IMPLEMENTED.length);
    expect(unregistered).toEqual([]);
  });

  it('has an entry for every procedure of the spec: implemented, or listed as not implemented yet', () => {
    const implemented = IMPLEMENTED.map((t) => t.id);
    const planned = NOT_IMPLEMENTED.map((t) => t.id);
    const missing = SPEC_PROCEDURES.filter((id) => !implemented.includes(id) && !planned.includes(id));
    expect(missing).toEqual([]);
    expect(planned.filter((id) => implemented.includes(id))).toEqual([]);
    expect(planned.filter((id) => !SPEC_PROCEDURES.includes(id))).toEqual([]);
    // Tasks that are not the spec's procedures are Drydock's own housekeeping.
    expect(implemented.filter((id) => !SPEC_PROCEDURES.includes(id)).every((id) => id.startsWith('drydock.'))).toBe(
      true,
    );
    const ids = createRegistry()
      .all()
      .map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(implemented).size).toBe(implemented.length);
  });

  it('gives every task a schedule under the default policy, and every planned entry says where it is tracked', () => {
    const policy = parsePolicy({});
    const registry = createRegistry();
    expect(registry.get('database.vacuum')!.implemented).toBe(true);
    // Carried out continuously by the daemon's collector, not as runs of its own.
    expect(registry.get('cache.metrics')!.implemented).toBe(false);
    for (const task of registry.all()) {
      if (!task.implemented) expect(task.plannedIn).toMatch(/issue \d|not yet filed/);
      expect(task.schedule(policy).text).not.toBe('');
    }
  });

  it('offers a dry run only where a task defines one', () => {
    const registry = createRegistry();
    const cleanup = registry.get('server.cleanup') as ImplementedTask;
    expect(cleanup.dryRun?.().title).toMatch(/dry run/);
    expect((registry.get('database.vacuum') as ImplementedTask).dryRun).toBeUndefined();
  });
});

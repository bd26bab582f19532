// Policy → backup settings. Kept apart so every entry point reads the policy the same way.
import { resolveSecret } from '../policy/secrets.js';
import type { Policy } from '../policy/schema.js';
import { parseDuration } from '../policy/phrases.js';
import type { RepositorySettings } from './repository.js';

export function repositorySettings(policy: Policy): RepositorySettings {
  const r = policy.backup.repository;
  return {
    path: r.path,
    compression: r.compression,
    level: r.level,
    processes: r.processes,
    encryptionKey: resolveSecret(r.encryption_key, 'backup.repository.encryption_key'),
  };
}

export function durationMs(text: string, fallback: number): number {
  const parsed = parseDuration(text);
  return parsed.ok ? parsed.value : fallback;
}

// The backup catalog lives in the repository (the source of truth, readable without Drydock's
// state) and is mirrored into the state store after every run that can change it, so the
// dashboard, the API and `drydock backup list --state` read it without touching the repository.
import type { Policy } from '../policy/schema.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BackupCatalog } from './catalog-store.js';
import { REPOSITORY_FILE, listBackups, openRepository } from './repository.js';
import { repositorySettings } from './settings.js';

/** Tasks after which the repository's catalog may have changed. */
export function changesBackupCatalog(taskId: string): boolean {
  return (
    taskId === 'database.backup' ||
    taskId.startsWith('backup.database.') ||
    taskId === 'backup.validation.integrity_check'
  );
}

export async function mirrorBackupCatalog(
  policy: Policy,
  store: BackupCatalog,
  at: Date,
): Promise<{ added: string[]; removed: string[] }> {
  const settings = repositorySettings(policy);
  if (!existsSync(join(settings.path, REPOSITORY_FILE))) return { added: [], removed: [] };
  return store.sync(settings.path, listBackups(openRepository(settings)), at);
}

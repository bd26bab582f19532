// The trigger for `backup.files.configuration` ("on change" in the spec): the daemon polls the
// watched files once a minute and starts a run when one differs from its newest stored version.
// Polling (a hash per file per minute) rather than inotify: it also sees files replaced by
// deploy tools and files on network mounts, and a handful of small files costs nothing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../../policy/schema.js';
import type { Daemon } from '../../engine/daemon.js';
import { REPOSITORY_FILE, openRepository } from '../repository.js';
import { repositorySettings } from '../settings.js';
import { pendingConfigChanges } from './config-versions.js';

export const CONFIGURATION_TASK_ID = 'backup.files.configuration';

export function watchConfigurationFiles(policy: Policy, daemon: Pick<Daemon, 'launch'>): () => Promise<void> {
  const paths = policy.backup.files.configuration.paths;
  return async () => {
    if (paths.length === 0 || policy.tasks[CONFIGURATION_TASK_ID]?.enabled === false) return;
    const settings = repositorySettings(policy);
    // No repository yet: the first run creates it and stores every file.
    const changed = existsSync(join(settings.path, REPOSITORY_FILE))
      ? await pendingConfigChanges(openRepository(settings), paths)
      : paths;
    if (changed.length > 0) await daemon.launch(CONFIGURATION_TASK_ID, { trigger: 'change', slotAt: null, attempt: 1 });
  };
}

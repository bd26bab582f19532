// Builds the windows module for an opened Drydock app (CLI command or daemon): the app's SQLite
// database, policy, clock and activity log, plus the core channels (log, webhook).
import type { App } from '../app.js';
import { buildChannels } from '../notify/notifier.js';
import { createWindowsModule, type WindowsModule } from './module.js';
import type { ValidationSummary } from './types.js';

export function windowsForApp(
  app: App,
  options: { healthCheck?: () => Promise<ValidationSummary>; env?: NodeJS.ProcessEnv } = {},
): WindowsModule {
  return createWindowsModule({
    db: app.store.db,
    policy: app.loaded.policy,
    clock: app.clock,
    channels: buildChannels(app.loaded.policy, app.logger),
    activity: (entry) => app.store.logActivity(entry),
    ...options,
  });
}

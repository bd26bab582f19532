// One task run in the foreground (`drydock run`, `drydock backup run`, `drydock backup
// restore-test`): the process registers itself, recovers runs of dead instances, heartbeats while
// the run lasts, and Ctrl-C or SIGTERM aborts the run cleanly, so it is recorded as interrupted
// with its steps and the task's own clean-up done.
import type { App } from '../app.js';
import type { RunRecord } from '../store/types.js';

export async function runInForeground(app: App, taskId: string, options: { force?: boolean } = {}): Promise<RunRecord> {
  await app.daemon.register();
  // Any process that works on the state cleans up after instances that died.
  await app.daemon.recoverOrphans();
  const stopHeartbeat = app.daemon.keepAlive();
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the run; it will be recorded as interrupted\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await app.engine.run(taskId, {
      trigger: 'manual',
      signal: controller.signal,
      force: options.force ?? false,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopHeartbeat();
    await app.store.removeInstance(app.instanceId);
  }
}

/** The exit code of a finished run: 0 succeeded, 3 skipped, 1 anything else. */
export function runExitCode(run: RunRecord): number {
  if (run.status === 'succeeded') return 0;
  return run.status === 'skipped' ? 3 : 1;
}

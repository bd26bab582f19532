// Wires one Drydock process: policy → store → registry → notifier → engine → daemon. The CLI, the
// HTTP API and the tests all start from here, so none of them has its own logic.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Daemon } from './engine/daemon.js';
import { Engine } from './engine/engine.js';
import { systemClock, type Clock } from './clock.js';
import type { Gate } from './engine/types.js';
import { createLogger } from './logger.js';
import { redactor } from './policy/redact.js';
import { Notifier } from './notify/notifier.js';
import { buildChannels } from './notify/channels/registry.js';
import { statusPagePublisher } from './notify/channels/status-page.js';
import type { Channel } from './notify/types.js';
import { WindowStore } from './store/sqlite/windows.js';
import { loadPolicy, statePath, type LoadedPolicy } from './policy/load.js';
import { openSqlite } from './store/sqlite/open.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { createRegistry, type Registry } from './tasks/registry.js';
import type { ImplementedTask } from './engine/types.js';
import { createWindowsModule, type WindowsModule } from './windows/module.js';
import { createMonitoring, type Monitoring } from './monitoring/metrics-and-alerts.js';
import { silenceRun } from './alerts/silences.js';
import { collectionIntervalMs } from './metrics/collector.js';
import { createRunMetrics } from './api/metrics.js';
import { windowSilenceSource } from './windows/silence-source.js';
import { watchConfigurationFiles } from './backup/files/config-watch.js';
import { changesBackupCatalog, mirrorBackupCatalog } from './backup/catalog-mirror.js';
import { BackupCatalogStore } from './store/sqlite/backups.js';
import type { BackupCatalog } from './backup/catalog-store.js';
import type { ValidationSummary } from './windows/types.js';
import { Access } from './access/access.js';
import { SqliteAccessStore } from './access/token-store.js';
import { attachSecurity, createSecurityModule, type SecurityModule } from './security/module.js';

export interface App {
  loaded: LoadedPolicy;
  store: SqliteStore;
  registry: Registry;
  engine: Engine;
  daemon: Daemon;
  notifier: Notifier;
  /** Every channel of the policy by name, built once by the channel registry. */
  channels: ReadonlyMap<string, Channel>;
  /** Channels that could not be built (a secret not set, ...): their messages are recorded as failed. */
  channelProblems: string[];
  /** Maintenance windows, approvals, patch SLAs and the status page (issue 5). */
  windows: WindowsModule;
  /** Metrics collection, alert rules and silences (issue 4). */
  monitoring: Monitoring;
  /** Who is asking: tokens, sessions, the admin acts on tokens (issue 9). */
  access: Access;
  /** The backup catalog mirrored from the repository after every backup run (issue 3). */
  backupCatalog: BackupCatalog;
  /** Vulnerability findings, exceptions and compliance reports (issue 13). */
  security: SecurityModule;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  close(): Promise<void>;
}

export interface AppOptions {
  policyPath?: string;
  /** An already-loaded policy (tests). */
  loaded?: LoadedPolicy;
  clock?: Clock;
  logger?: Logger;
  gates?: Gate[];
  kind?: 'daemon' | 'cli';
  tasks?: ReadonlyArray<ImplementedTask>;
  notifierOptions?: { attempts?: number; backoffMs?: number };
  lockPollMs?: number;
  /** Post-window validation; defaults to none (the window records "no health check configured"). */
  healthCheck?: () => Promise<ValidationSummary>;
  env?: NodeJS.ProcessEnv;
}

export async function openApp(options: AppOptions = {}): Promise<App> {
  const loaded = options.loaded ?? loadPolicy(options.policyPath);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger();
  const store = new SqliteStore(openSqlite(statePath(loaded)));
  const registry = createRegistry(options.tasks);
  const instanceId = `${options.kind ?? 'cli'}-${randomUUID().slice(0, 8)}`;
  // Every channel is built once, here, by the channel registry; the notifier, the windows service,
  // the patch service and the alert evaluator share them. Status-page notices go to the windows store.
  const { channels, problems: channelProblems } = buildChannels(loaded.policy, {
    logger,
    env: options.env ?? process.env,
    statusPage: statusPagePublisher(new WindowStore(store.db), clock),
  });
  for (const problem of channelProblems) logger.warn({ problem }, 'notification channel cannot be built');
  // Windows check health before they start and validate after they end: by default that is a
  // recorded run of server.health_check (disk, memory, CPU and the configured services).
  let engineRef: Engine | null = null;
  const healthCheck = options.healthCheck ?? (() => windowHealthCheck(engineRef!));
  const access = new Access({
    policy: loaded.policy,
    store: new SqliteAccessStore(store.db),
    clock,
    ...(options.env ? { env: options.env } : {}),
    activity: (entry) => store.logActivity(entry),
    sessionTtlMs: loaded.policy.http.session_ttl.ms,
  });
  const windows = createWindowsModule({
    access,
    db: store.db,
    policy: loaded.policy,
    clock,
    channels,
    activity: (entry) => store.logActivity(entry),
    healthCheck,
    ...(options.env ? { env: options.env } : {}),
  });
  const security = createSecurityModule({
    db: store.db,
    policy: loaded.policy,
    clock,
    channels,
    patches: windows.patches,
    baseDir: loaded.baseDir,
    activity: (entry) => store.logActivity(entry),
  });
  attachSecurity(store, security);
  const notifier = new Notifier(loaded.policy, channels, store, clock, options.notifierOptions);
  const runMetrics = createRunMetrics({ store, registry });
  const backupCatalog = new BackupCatalogStore(store.db);
  const monitoring = createMonitoring({
    db: store.db,
    policy: loaded.policy,
    channels,
    clock,
    log: logger,
    extraMetrics: () => runMetrics.metrics(),
    activity: (entry) => store.logActivity(redactor.value(entry)),
  });
  // A maintenance window in progress silences the alerts of the components it lists.
  monitoring.silences.addSource(windowSilenceSource(windows.service.store));
  const engine = new Engine({
    store,
    policy: loaded.policy,
    registry,
    gates: options.gates ?? [windows.gate],
    notifier,
    clock,
    logger,
    instanceId,
    ...(options.lockPollMs ? { lockPollMs: options.lockPollMs } : {}),
    onRunStart: (task, run) => {
      // Alerts for what a run touches stay silent from its start until it has been validated.
      const lift = silenceRun(monitoring.silences, task, loaded.policy, run.id);
      return async () => {
        lift();
        if (!changesBackupCatalog(task.id)) return;
        try {
          await mirrorBackupCatalog(loaded.policy, backupCatalog, clock.now());
        } catch (error) {
          logger.warn({ err: error, taskId: task.id }, 'backup catalog could not be mirrored into the state');
        }
      };
    },
  });
  engineRef = engine;
  const daemon = new Daemon({ engine, store, registry, clock, logger, instanceId, kind: options.kind ?? 'cli' });
  daemon.every('maintenance windows and patch SLAs', 60_000, () => windows.tick());
  daemon.every('vulnerability finding exceptions and SLAs', 60_000, () => security.tick());
  // "on change": the configuration backup runs when a watched file differs from its newest version.
  daemon.every('configuration file changes', 60_000, watchConfigurationFiles(loaded.policy, daemon));
  daemon.every('metrics collection and alert rules', collectionIntervalMs(loaded.policy), async () => {
    await monitoring.collector.collectOnce();
  });
  return {
    loaded,
    store,
    registry,
    engine,
    daemon,
    notifier,
    channels,
    channelProblems,
    windows,
    monitoring,
    access,
    backupCatalog,
    security,
    clock,
    logger,
    instanceId,
    close: () => store.close(),
  };
}

/** A window's health check: one recorded run of server.health_check, as a validation summary. */
async function windowHealthCheck(engine: Engine): Promise<ValidationSummary> {
  const run = await engine.run('server.health_check', { trigger: 'manual', force: true });
  if (run.validation) return { ok: run.status === 'succeeded' && run.validation.ok, checks: run.validation.checks };
  return {
    ok: false,
    checks: [
      {
        name: 'server.health_check',
        ok: false,
        detail: `run #${run.id} ${run.status}: ${run.error ?? run.reason ?? 'no result'}`,
      },
    ],
  };
}

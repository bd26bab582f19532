// Wires metrics and alerts for one Drydock process: the collector writes each round to the store
// and hands it to the alert evaluator; routes serve /metrics and /api/alerts.
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { alertRoutes } from '../alerts/routes.js';
import { Silences } from '../alerts/silences.js';
import { systemClock, type Clock } from '../clock.js';
import { MetricsCollector, type CollectorTargets } from '../metrics/collector.js';
import { metricsRoutes } from '../metrics/routes.js';
import type { Channel } from '../notify/types.js';
import type { Policy } from '../policy/schema.js';
import { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { SqliteMetricsStore } from '../store/sqlite/metrics.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry } from '../store/types.js';

export interface MonitoringOptions {
  db: SqliteDatabase;
  policy: Policy;
  channels: ReadonlyMap<string, Channel>;
  clock?: Clock;
  log?: Logger;
  targets?: Partial<CollectorTargets>;
  /** Extra exposition text for /metrics (e.g. the engine's prom-client registry). */
  extraMetrics?: () => Promise<string> | string;
  /** Where alert transitions and notifications are recorded besides the alert history (the activity log). */
  activity?: (entry: ActivityEntry) => Promise<void> | void;
}

export interface Monitoring {
  metrics: SqliteMetricsStore;
  alerts: SqliteAlertStore;
  silences: Silences;
  evaluator: AlertEvaluator;
  collector: MetricsCollector;
  /** Mount at "/": serves /metrics, /api/metrics/*, /api/alerts*, /api/silences. */
  routes: Hono;
}

export function createMonitoring(options: MonitoringOptions): Monitoring {
  const clock = options.clock ?? systemClock;
  const metrics = new SqliteMetricsStore(options.db);
  const alerts = new SqliteAlertStore(options.db);
  const silences = new Silences(alerts, clock);
  const evaluator = new AlertEvaluator({
    store: alerts,
    policy: options.policy,
    channels: options.channels,
    silences,
    clock,
    ...(options.log ? { log: options.log } : {}),
  });
  const collector = new MetricsCollector({
    store: metrics,
    policy: options.policy,
    clock,
    ...(options.targets ? { targets: options.targets } : {}),
    ...(options.log ? { log: options.log } : {}),
    onRound: async (report) => {
      const events = await evaluator.evaluate(report);
      // Nothing happens that the activity log does not show: every alert transition and message.
      for (const event of events) {
        await options.activity?.({
          at: new Date(report.at),
          kind: `alert.${event.kind}`,
          actor: 'alerts',
          message: `${event.rule} ${event.component}: ${event.message}`,
          data: {
            rule: event.rule,
            key: event.key,
            component: event.component,
            ...(event.notification ? { notification: event.notification } : {}),
          },
        });
      }
    },
  });
  const routes = new Hono();
  routes.route(
    '/',
    metricsRoutes({ store: metrics, clock, ...(options.extraMetrics ? { extra: options.extraMetrics } : {}) }),
  );
  routes.route('/', alertRoutes({ store: alerts, silences, clock }));
  return { metrics, alerts, silences, evaluator, collector, routes };
}

// Evaluates the alert rules on each round of metrics, keeps every instance's state and history
// in the store, and sends firing / repeat / resolved messages through the policy's channels.
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import type { TargetStatus } from '../metrics/collector.js';
import type { MetricValue } from '../metrics/types.js';
import type { Channel, OutboundMessage } from '../notify/types.js';
import type { Policy } from '../policy/schema.js';
import type { SqliteAlertStore } from '../store/sqlite/alerts.js';
import { labelKey } from '../store/sqlite/metrics.js';
import { collectionIntervalMs } from '../metrics/collector.js';
import { alertRules, componentOf, observedForRule, type AlertRule } from './rules.js';
import type { Silences } from './silences.js';
import { INACTIVE, stepAlert, stepGap, type AlertNotification, type AlertStep } from './state-machine.js';

export interface Observations {
  at: number;
  samples: readonly MetricValue[];
  /** Collection status per target; gives target_down alerts their error text. */
  targets?: readonly TargetStatus[];
}

export interface AlertEvent {
  rule: string;
  key: string;
  component: string;
  kind: 'transition' | 'sent' | 'held' | 'send_failed';
  notification?: AlertNotification;
  message: string;
}

export interface AlertEvaluatorOptions {
  store: SqliteAlertStore;
  policy: Policy;
  channels: ReadonlyMap<string, Channel>;
  silences: Silences;
  clock?: Clock;
  log?: Logger;
  rules?: AlertRule[];
  /**
   * Longest time between two points of a series that still counts as one unbroken stretch
   * (default 1.5 collection intervals, so one missed round is a gap). A pending alert whose last
   * point is older starts over; a firing one whose series stops for longer ends ("no data").
   */
  maxGapMs?: number;
}

const SUBJECT_LABELS = ['kind', 'target', 'replica', 'mount', 'service', 'table'];

function describeSeries(labels: Record<string, string>): string {
  const parts = SUBJECT_LABELS.filter((k) => labels[k] !== undefined).map((k) => labels[k]!);
  return parts.length ? parts.join(' ') : 'host';
}

function formatObserved(rule: Pick<AlertRule, 'metric' | 'condition'>, value: number): string {
  if (rule.metric.endsWith('_seconds'))
    return rule.condition.unit === 'ms' ? `${(value * 1000).toFixed(1)} ms` : `${Number(value.toFixed(3))} s`;
  if (rule.metric.endsWith('_ratio')) return `${(value * 100).toFixed(1)}%`;
  if (rule.condition.unit === 'percent') return `${value.toFixed(1)}%`;
  return String(Number(value.toFixed(3)));
}

function alertText(rule: AlertRule, labels: Record<string, string>, value: number, detail?: string): string {
  const what = `${rule.title}: ${describeSeries(labels)}`;
  if (rule.metric === 'drydock_target_up') return `${what} is unreachable${detail ? ` (${detail})` : ''}`;
  if (rule.metric === 'host_service_up') return `${what} is down`;
  if (rule.metric === 'backup_failed') return `${what}: the latest attempt failed`;
  return `${what} at ${formatObserved(rule, value)} (alert when ${rule.condition.text})`;
}

export class AlertEvaluator {
  readonly rules: AlertRule[];
  private readonly clock: Clock;
  private readonly maxGapMs: number;
  private lastPruneAt = 0;

  constructor(private readonly options: AlertEvaluatorOptions) {
    this.rules = options.rules ?? alertRules(options.policy);
    this.clock = options.clock ?? systemClock;
    this.maxGapMs = options.maxGapMs ?? 1.5 * collectionIntervalMs(options.policy);
  }

  async evaluate(observations: Observations): Promise<AlertEvent[]> {
    const { store, silences } = this.options;
    const at = observations.at;
    const events: AlertEvent[] = [];
    // History lives as long as the activity log (activity_log.retention); pruned at most hourly.
    if (at - this.lastPruneAt >= 3_600_000) {
      this.lastPruneAt = at;
      store.pruneHistory(at - this.options.policy.activity_log.retention.ms);
    }
    for (const rule of this.rules) {
      const seen = new Set<string>();
      for (const sample of observations.samples) {
        if (sample.name !== rule.metric) continue;
        const key = labelKey(sample.labels);
        seen.add(key);
        const component = componentOf(sample.name, sample.labels);
        const stored = store.get(rule.name, key);
        // A pending alert whose previous point is too old did not hold "for" its duration: it starts over.
        const stale = stored?.status === 'pending' && at - stored.updatedAt > this.maxGapMs;
        const prev = stored && !stale ? stored : INACTIVE;
        const breached = rule.condition.breachedBy(observedForRule(rule, sample.value));
        const silenceReason = rule.class === 'security' ? null : silences.reason(component, new Date(at));
        const step = stepAlert(prev, {
          breached,
          value: sample.value,
          now: at,
          forMs: rule.forMs,
          repeatMs: rule.repeatMs,
          silenced: silenceReason !== null,
        });
        const detail =
          rule.metric === 'drydock_target_up'
            ? observations.targets?.find((t) => t.target === sample.labels.target && t.kind === sample.labels.kind)
                ?.error
            : undefined;
        const text = alertText(rule, sample.labels, sample.value, detail);
        store.put({
          ...step.state,
          rule: rule.name,
          key,
          labels: sample.labels,
          component,
          message: breached ? text : (stored?.message ?? text),
          updatedAt: at,
        });
        const record = (event: AlertEvent, fromTo?: { from: string; to: string }) => {
          events.push(event);
          store.addHistory({
            rule: rule.name,
            key,
            at,
            event: event.kind,
            fromStatus: (fromTo?.from as never) ?? null,
            toStatus: (fromTo?.to as never) ?? null,
            value: sample.value,
            message: event.message,
          });
        };
        if (step.transition) {
          record(
            {
              rule: rule.name,
              key,
              component,
              kind: 'transition',
              message: `${step.transition.from} → ${step.transition.to}: ${text}`,
            },
            step.transition,
          );
          if (step.held)
            record({
              rule: rule.name,
              key,
              component,
              kind: 'held',
              notification: step.held,
              message: `not sent: ${silenceReason}`,
            });
        }
        if (step.notify) {
          const message = this.message(rule, key, sample.labels, step.notify, text, prev.since ?? step.state.since, at);
          for (const result of await this.send(message)) {
            record({
              rule: rule.name,
              key,
              component,
              kind: result.ok ? 'sent' : 'send_failed',
              notification: step.notify,
              message: `${step.notify} via ${result.channel}: ${result.detail}`,
            });
          }
        }
      }
      // Series this rule watched that have no point this round: a gap, never a silent carry-over.
      for (const stored of store.states({ rule: rule.name })) {
        if (stored.status === 'inactive' || seen.has(stored.key) || at - stored.updatedAt <= this.maxGapMs) continue;
        events.push(...(await this.gap(rule, stored, stepGap(stored, at), at)));
      }
    }
    return events;
  }

  private async gap(
    rule: AlertRule,
    stored: NonNullable<ReturnType<SqliteAlertStore['get']>>,
    step: AlertStep,
    at: number,
  ): Promise<AlertEvent[]> {
    const { store } = this.options;
    const events: AlertEvent[] = [];
    const what = `${rule.title}: ${describeSeries(stored.labels)}`;
    store.put({
      ...step.state,
      rule: rule.name,
      key: stored.key,
      labels: stored.labels,
      component: stored.component,
      message: stored.message,
      updatedAt: at,
    });
    const record = (event: AlertEvent, fromTo?: { from: string; to: string }) => {
      events.push(event);
      store.addHistory({
        rule: rule.name,
        key: stored.key,
        at,
        event: event.kind,
        fromStatus: (fromTo?.from as never) ?? null,
        toStatus: (fromTo?.to as never) ?? null,
        value: null,
        message: event.message,
      });
    };
    const base = { rule: rule.name, key: stored.key, component: stored.component };
    if (step.transition)
      record(
        {
          ...base,
          kind: 'transition',
          message: `${step.transition.from} → ${step.transition.to}: ${what}: no data this round`,
        },
        step.transition,
      );
    if (step.notify) {
      const since = stored.since ? ` since ${new Date(stored.since).toISOString()}` : '';
      const message: OutboundMessage = {
        id: `alert:${rule.name}:${stored.key}:resolved:${at}`,
        kind: 'alert.resolved',
        subject: `[RESOLVED] ${what}`,
        text: `${what}: no data (the series has a gap, so the condition cannot be said to hold); it had fired${since}.`,
        data: {
          rule: rule.name,
          metric: rule.metric,
          labels: stored.labels,
          condition: rule.condition.text,
          class: rule.class,
          notification: 'resolved',
          reason: 'no data',
          at: new Date(at).toISOString(),
        },
      };
      for (const result of await this.send(message))
        record({
          ...base,
          kind: result.ok ? 'sent' : 'send_failed',
          notification: 'resolved',
          message: `resolved (no data) via ${result.channel}: ${result.detail}`,
        });
    }
    return events;
  }

  private message(
    rule: AlertRule,
    key: string,
    labels: Record<string, string>,
    kind: AlertNotification,
    text: string,
    since: number | null,
    at: number,
  ): OutboundMessage {
    const tag = kind === 'resolved' ? 'RESOLVED' : kind === 'repeat' ? 'FIRING (still)' : 'FIRING';
    const sinceText = since ? ` since ${new Date(since).toISOString()}` : '';
    const body =
      kind === 'resolved'
        ? `${text.replace(/ \(alert when .*\)$/, '')}: back within ${rule.condition.text}; it had fired${sinceText}.`
        : `${text}${sinceText}.`;
    return {
      id: `alert:${rule.name}:${key}:${kind}:${at}`,
      kind: `alert.${kind}`,
      subject: `[${tag}] ${rule.title}: ${describeSeries(labels)}`,
      text: body,
      data: {
        rule: rule.name,
        metric: rule.metric,
        labels,
        condition: rule.condition.text,
        class: rule.class,
        notification: kind,
        at: new Date(at).toISOString(),
      },
    };
  }

  private async send(message: OutboundMessage): Promise<Array<{ channel: string; ok: boolean; detail: string }>> {
    const results = [];
    for (const name of this.options.policy.alerts.channels) {
      const channel = this.options.channels.get(name);
      if (!channel) {
        results.push({ channel: name, ok: false, detail: `channel "${name}" is not defined` });
        continue;
      }
      try {
        const r = await channel.send(message);
        results.push({ channel: name, ok: r.ok, detail: r.detail });
      } catch (error) {
        results.push({ channel: name, ok: false, detail: (error as Error).message });
      }
    }
    if (results.some((r) => !r.ok)) this.options.log?.warn({ id: message.id, results }, 'alert delivery failed');
    return results;
  }

  /** Current state of every alert that is pending or firing. */
  active() {
    return this.options.store.states().filter((s) => s.status !== 'inactive');
  }

  now(): number {
    return this.clock.now().getTime();
  }
}

// Sends a notice to a list of (channel, recipient) targets through the delivery log: each target
// is tried up to `attempts` times with doubling backoff, every result is recorded, and a target
// already marked sent is skipped, so a retried or repeated call never sends the same message twice.
// Never throws for a delivery failure: the caller decides whether failures block anything.
import type { Clock } from '../clock.js';
import { redactor } from '../policy/redact.js';
import type { Policy } from '../policy/schema.js';
import type { ActivityEntry } from '../store/types.js';
import type { DeliveryLog } from '../store/sqlite/deliveries.js';
import type { Channel, OutboundMessage } from './types.js';

export interface Target {
  channel: string;
  /** An email address or phone number; '' for channels without recipients (Slack, status page). */
  recipient: string;
}

export interface DeliveryReport {
  sent: Target[];
  /** Already sent earlier under the same message id: not sent again. */
  skipped: Target[];
  failed: Array<Target & { detail: string; attempts: number }>;
}

export interface SenderDeps {
  log: DeliveryLog;
  channels: ReadonlyMap<string, Channel>;
  clock: Clock;
  attempts: number;
  backoffMs: number;
  /** Injected so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
}

/** The sender every stakeholder-notifying feature uses: the policy's delivery attempts and backoff. */
export function stakeholderSender(
  log: DeliveryLog,
  deps: {
    policy: Policy;
    channels: ReadonlyMap<string, Channel>;
    clock: Clock;
    sleep?: ((ms: number) => Promise<void>) | undefined;
    activity?: ((entry: ActivityEntry) => void | Promise<void>) | undefined;
  },
): SenderDeps {
  const delivery = deps.policy.maintenance_windows.delivery;
  return {
    log,
    channels: deps.channels,
    clock: deps.clock,
    attempts: delivery.attempts,
    backoffMs: delivery.backoff.ms,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.activity ? { activity: deps.activity } : {}),
  };
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function deliver(
  deps: SenderDeps,
  raw: OutboundMessage,
  targets: readonly Target[],
  windowId: number | null = null,
): Promise<DeliveryReport> {
  const message: OutboundMessage = redactor.value(raw);
  const report: DeliveryReport = { sent: [], skipped: [], failed: [] };
  const sleep = deps.sleep ?? realSleep;
  await Promise.all(
    dedupe(targets).map(async (target) => {
      const row = deps.log.open({
        messageId: message.id,
        channel: target.channel,
        recipient: target.recipient,
        kind: message.kind,
        subject: message.subject,
        windowId,
        at: deps.clock.now(),
      });
      if (row.status === 'sent') {
        report.skipped.push(target);
        return;
      }
      const channel = deps.channels.get(target.channel);
      if (!channel) {
        deps.log.finish(
          message.id,
          target.channel,
          target.recipient,
          'failed',
          `no channel named "${target.channel}"`,
          deps.clock.now(),
        );
        report.failed.push({ ...target, detail: `no channel named "${target.channel}"`, attempts: 0 });
        return;
      }
      let detail = '';
      let attempts = 0;
      for (let attempt = 1; attempt <= deps.attempts; attempt++) {
        if (!deps.log.beginAttempt(message.id, target.channel, target.recipient, deps.clock.now())) {
          report.skipped.push(target);
          return;
        }
        attempts = attempt;
        const result = await channel
          .send({ ...message, to: target.recipient ? [target.recipient] : undefined })
          .catch((error: unknown) => ({ ok: false, detail: String(error), retryable: true }));
        detail = redactor.text(result.detail);
        if (result.ok) {
          deps.log.finish(message.id, target.channel, target.recipient, 'sent', detail, deps.clock.now());
          report.sent.push(target);
          await record(
            deps,
            'notify.sent',
            `${message.kind} notice sent via ${target.channel}${target.recipient ? ` to ${target.recipient}` : ''}: ${detail}`,
            message,
            target,
            attempt,
            windowId,
          );
          return;
        }
        if (!result.retryable || attempt === deps.attempts) break;
        deps.log.finish(message.id, target.channel, target.recipient, 'pending', detail, deps.clock.now());
        await sleep(deps.backoffMs * 2 ** (attempt - 1));
      }
      deps.log.finish(message.id, target.channel, target.recipient, 'failed', detail, deps.clock.now());
      report.failed.push({ ...target, detail, attempts });
      await record(
        deps,
        'notify.failed',
        `${message.kind} notice via ${target.channel}${target.recipient ? ` to ${target.recipient}` : ''} failed after ${attempts} attempt(s): ${detail}`,
        message,
        target,
        attempts,
        windowId,
      );
    }),
  );
  return report;
}

async function record(
  deps: SenderDeps,
  kind: string,
  text: string,
  message: OutboundMessage,
  target: Target,
  attempts: number,
  windowId: number | null,
): Promise<void> {
  if (!deps.activity) return;
  await deps.activity({
    at: deps.clock.now(),
    kind,
    message: redactor.text(text),
    data: {
      channel: target.channel,
      recipient: target.recipient,
      messageId: message.id,
      notice: message.kind,
      subject: message.subject,
      attempts,
      windowId,
    },
  });
}

function dedupe(targets: readonly Target[]): Target[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = `${t.channel}\u0000${t.recipient}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface AudienceFilter {
  /** Channel types to use (the emergency notice list: email, sms, status_page, webhook). */
  channelTypes?: readonly string[];
  /** Only stakeholders holding one of these roles. */
  roles?: readonly string[];
  /** Only these people, by name. */
  people?: readonly string[];
}

/**
 * Who a notice goes to: every stakeholder's channels (email to their address, SMS to their phone,
 * the rest once per channel), the channel-level `to` lists, and every status-page channel.
 * With a role or person filter, only those people (and no channel-level extras or status page).
 */
export function audience(policy: Policy, filter: AudienceFilter = {}): Target[] {
  const typeOk = (type: string) =>
    !filter.channelTypes ||
    filter.channelTypes.includes(type) ||
    (type === 'slack' && filter.channelTypes.includes('webhook'));
  const targeted = Boolean(filter.roles || filter.people);
  const out: Target[] = [];
  for (const person of policy.stakeholders) {
    if (filter.roles && !person.roles.some((r) => filter.roles!.includes(r))) continue;
    if (filter.people && !filter.people.includes(person.name)) continue;
    for (const name of person.channels) {
      const config = policy.channels[name];
      if (!config || !typeOk(config.type)) continue;
      if (config.type === 'email') {
        if (person.email) out.push({ channel: name, recipient: person.email });
      } else if (config.type === 'sms') {
        if (person.phone) out.push({ channel: name, recipient: person.phone });
      } else if (config.type !== 'status_page') out.push({ channel: name, recipient: '' });
    }
  }
  if (!targeted) {
    for (const [name, config] of Object.entries(policy.channels)) {
      if (!typeOk(config.type)) continue;
      if (config.type === 'status_page') out.push({ channel: name, recipient: '' });
      if (config.type === 'email' || config.type === 'sms')
        for (const to of config.to) out.push({ channel: name, recipient: to });
    }
  }
  return dedupe(out);
}

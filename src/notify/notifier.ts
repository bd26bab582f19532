// Sends notices to the channels the policy names for each event, records every delivery in the
// activity log, retries a failed delivery a few times with the same message id (so a receiver can
// drop duplicates), and never throws: a notification failure never breaks maintenance.
import type { Policy } from '../policy/schema.js';
import { redactor } from '../policy/redact.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../clock.js';
import type { Channel, OutboundMessage } from './types.js';

export type NotifyEvent = 'start' | 'success' | 'failure';

/** What happened to one notice: the channels that took it, and those that did not, with why. */
export interface NoticeReport {
  delivered: string[];
  failed: Array<{ channel: string; reason: string }>;
}

/** "notice delivered to h1; failed for h2: reason" (a run step's line). */
export function describeNoticeReport(what: string, report: NoticeReport): string {
  if (report.delivered.length === 0 && report.failed.length === 0) return `${what}: no channel configured`;
  const parts: string[] = [];
  if (report.delivered.length) parts.push(`${what} delivered to ${report.delivered.join(', ')}`);
  if (report.failed.length)
    parts.push(
      `${report.delivered.length ? '' : `${what} `}failed for ${report.failed.map((f) => `${f.channel}: ${f.reason}`).join('; ')}`,
    );
  return parts.join('; ');
}

export interface NotifierOptions {
  attempts?: number;
  backoffMs?: number;
}

export class Notifier {
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(
    private readonly policy: Policy,
    private readonly channels: ReadonlyMap<string, Channel>,
    private readonly store: Store,
    private readonly clock: Clock,
    options: NotifierOptions = {},
  ) {
    this.attempts = options.attempts ?? 3;
    this.backoffMs = options.backoffMs ?? 1000;
  }

  async notify(
    event: NotifyEvent,
    message: OutboundMessage,
    context: { taskId?: string; runId?: number } = {},
  ): Promise<NoticeReport> {
    const safe: OutboundMessage = redactor.value(message);
    const results = await Promise.all(this.policy.notify[event].map((name) => this.deliver(name, safe, context)));
    const report: NoticeReport = { delivered: [], failed: [] };
    this.policy.notify[event].forEach((name, i) => {
      const failure = results[i];
      if (failure === null) report.delivered.push(name);
      else report.failed.push({ channel: name, reason: failure ?? 'failed' });
    });
    return report;
  }

  /** Null when delivered, else why it failed. */
  private async deliver(
    name: string,
    message: OutboundMessage,
    context: { taskId?: string; runId?: number },
  ): Promise<string | null> {
    const channel = this.channels.get(name);
    if (!channel) {
      // The policy is checked at load, so this is a channel set built for another policy: still recorded.
      await this.record(
        'notify.failed',
        `${message.kind} notice to ${name} failed: no channel named "${name}"`,
        name,
        message,
        0,
        context,
      );
      return `no channel named "${name}"`;
    }
    let detail = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      const result = await channel
        .send(message)
        .catch((error: unknown) => ({ ok: false, detail: String(error), retryable: true }));
      detail = redactor.text(result.detail);
      if (result.ok) {
        await this.record(
          'notify.sent',
          `${message.kind} notice sent to ${name}: ${detail}`,
          name,
          message,
          attempt,
          context,
        );
        return null;
      }
      if (!result.retryable || attempt === this.attempts) break;
      await new Promise((r) => setTimeout(r, this.backoffMs * attempt));
    }
    await this.record(
      'notify.failed',
      `${message.kind} notice to ${name} failed: ${detail}`,
      name,
      message,
      this.attempts,
      context,
    );
    return detail || 'failed';
  }

  private async record(
    kind: string,
    text: string,
    channel: string,
    message: OutboundMessage,
    attempts: number,
    context: { taskId?: string; runId?: number },
  ) {
    await this.store.logActivity({
      at: this.clock.now(),
      kind,
      taskId: context.taskId ?? null,
      runId: context.runId ?? null,
      message: text,
      data: { channel, messageId: message.id, subject: message.subject, attempts },
    });
  }
}

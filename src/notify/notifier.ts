// Sends notices to the channels the policy names for each event, records every delivery in the
// activity log, retries a failed delivery a few times with the same message id (so a receiver can
// drop duplicates), and never throws: a notification failure never breaks maintenance.
import type { Policy } from '../policy/schema.js';
import { redactor } from '../policy/redact.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../clock.js';
import type { Channel, OutboundMessage } from './types.js';

export type NotifyEvent = 'start' | 'success' | 'failure';

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
  ): Promise<void> {
    const safe: OutboundMessage = redactor.value(message);
    await Promise.all(this.policy.notify[event].map((name) => this.deliver(name, safe, context)));
  }

  private async deliver(
    name: string,
    message: OutboundMessage,
    context: { taskId?: string; runId?: number },
  ): Promise<void> {
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
      return;
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
        return;
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

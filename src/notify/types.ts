// One interface for every notification channel (log, webhook now; email, SMS, Slack and the
// status page in issue 5). A channel sends one message and reports the result; it never throws
// for a delivery failure, so the notifier can log and retry it.
export interface OutboundMessage {
  /** Stable id used to avoid sending the same message twice on retry. */
  id: string;
  kind: string;
  subject: string;
  text: string;
  /** Structured details for machine channels (webhooks). */
  data: Record<string, unknown>;
  /** Recipients where the channel needs them (email addresses, phone numbers). */
  to?: string[];
}

export interface DeliveryResult {
  ok: boolean;
  /** What happened, for the activity log ("HTTP 200", "ECONNREFUSED 127.0.0.1:2525"). */
  detail: string;
  /** Whether trying again could help. */
  retryable: boolean;
}

export interface Channel {
  readonly name: string;
  readonly type: string;
  send(message: OutboundMessage, signal?: AbortSignal): Promise<DeliveryResult>;
}

// The status page as a channel: a notice becomes an entry on the public page (through `publish`,
// which the composition root backs with the windows store). Only the subject and text are
// published, never the structured data.
import type { Clock } from '../../clock.js';
import type { Channel, OutboundMessage } from '../types.js';

export interface StatusPagePublisher {
  publish(message: OutboundMessage): void | Promise<void>;
}

/** Where status-page notices are kept (the windows store's notices). */
export interface StatusNoticeSink {
  addNotice(notice: {
    messageId: string;
    at: Date;
    kind: string;
    subject: string;
    text: string;
    windowId: number | null;
  }): void | Promise<void>;
}

/** A publisher that files each notice in `sink`, tied to its window when the message names one. */
export function statusPagePublisher(sink: StatusNoticeSink, clock: Clock): StatusPagePublisher {
  return {
    publish: (message) =>
      sink.addNotice({
        messageId: message.id,
        at: clock.now(),
        kind: message.kind,
        subject: message.subject,
        text: message.text,
        windowId: typeof message.data.windowId === 'number' ? message.data.windowId : null,
      }),
  };
}

export function createStatusPageChannel(name: string, publisher: StatusPagePublisher): Channel {
  return {
    name,
    type: 'status_page',
    async send(message) {
      try {
        await publisher.publish(message);
        return { ok: true, detail: 'published on the status page', retryable: false };
      } catch (error) {
        return { ok: false, detail: `status page: ${(error as Error).message}`, retryable: true };
      }
    },
  };
}

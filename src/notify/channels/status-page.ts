// The status page as a channel: a notice becomes an entry on the public page (through `publish`,
// which the windows service backs with its store). Only the subject and text are published,
// never the structured data.
import type { Channel, OutboundMessage } from '../types.js';

export interface StatusPagePublisher {
  publish(message: OutboundMessage): void | Promise<void>;
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

import type { Logger } from 'pino';
import type { Channel } from '../types.js';

/** Writes notices to Drydock's own log: always available, needs no configuration. */
export function createLogChannel(name: string, logger: Logger): Channel {
  return {
    name,
    type: 'log',
    async send(message) {
      logger.info(
        { channel: name, kind: message.kind, messageId: message.id, text: message.text, data: message.data },
        message.subject,
      );
      return { ok: true, detail: 'written to log', retryable: false };
    },
  };
}

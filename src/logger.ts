import { pino, type Logger } from 'pino';
import { redactor } from './policy/redact.js';

/**
 * JSON lines to stderr. Messages and fields pass through the redactor, so a secret that reached
 * an error message is masked before it is written.
 */
export function createLogger(level = process.env.DRYDOCK_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { app: 'drydock' },
      redact: {
        paths: ['*.password', '*.token', '*.secret', 'password', 'token', 'headers.authorization'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => redactor.value(arg)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

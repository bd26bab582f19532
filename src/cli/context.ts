import { openApp, type App, type AppOptions } from '../app.js';
import { createLogger } from '../logger.js';

export interface GlobalOptions {
  policy?: string;
}

/** Opens the app for one command and always closes it. */
export async function withApp<T>(
  global: GlobalOptions,
  fn: (app: App) => Promise<T>,
  options: Partial<AppOptions> = {},
): Promise<T> {
  const app = await openApp({
    ...(global.policy ? { policyPath: global.policy } : {}),
    logger: createLogger(process.env.DRYDOCK_LOG_LEVEL ?? 'warn'),
    ...options,
  });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

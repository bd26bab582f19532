import { readFileSync } from 'node:fs';
import { DrydockError } from '../errors.js';
import { redactor } from './redact.js';
import type { SecretRef } from './schema.js';

/** Reads a secret named in the policy and registers it for redaction. `where` is the policy path, for messages. */
export function resolveSecret(
  ref: SecretRef | undefined,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (!ref) return undefined;
  if (ref.env) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new DrydockError('SECRET_MISSING', `${where}: environment variable ${ref.env} is not set`, {
        hint: `export ${ref.env}=... before starting Drydock`,
      });
    }
    redactor.register(value);
    return value;
  }
  try {
    const value = readFileSync(ref.file!, 'utf8').replace(/\r?\n$/, '');
    redactor.register(value);
    return value;
  } catch (error) {
    throw new DrydockError(
      'SECRET_MISSING',
      `${where}: cannot read secret file ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        hint: 'check the path and that Drydock may read it',
      },
    );
  }
}

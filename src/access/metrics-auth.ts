// The /metrics credentials of http.metrics_auth, resolved from their secret references and checked
// for strength (refused at start-up, naming the key, when short or guessable).
import { DrydockError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { resolveSecret } from '../policy/secrets.js';
import { tokenWeakness } from './strength.js';

export function resolveMetricsAuth(
  policy: Policy,
  env: NodeJS.ProcessEnv,
): { bearer?: string; basic?: { user: string; password: string } } | undefined {
  const auth = policy.http.metrics_auth;
  if (!auth || (!auth.bearer && !auth.basic)) return undefined;
  const problems: string[] = [];
  const check = (value: string, where: string) => {
    const weak = tokenWeakness(value);
    if (weak) problems.push(`${where}: ${weak}`);
    return value;
  };
  const bearer = auth.bearer
    ? check(resolveSecret(auth.bearer, 'http.metrics_auth.bearer', env)!, 'http.metrics_auth.bearer')
    : undefined;
  const basic = auth.basic
    ? {
        user: auth.basic.user,
        password: check(
          resolveSecret(auth.basic.password, 'http.metrics_auth.basic.password', env)!,
          'http.metrics_auth.basic.password',
        ),
      }
    : undefined;
  if (problems.length) throw new DrydockError('CONFIG_INVALID', `/metrics credentials refused: ${problems.join('; ')}`);
  return { ...(bearer ? { bearer } : {}), ...(basic ? { basic } : {}) };
}

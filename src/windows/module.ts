// Wires issue 5 into one Drydock process: the windows service, security patches, the token
// authenticator and the engine gate (api/server.tsx mounts their HTTP routes). The app (or a test) supplies the
// SQLite database, the policy, the clock, the channels (built by the channel registry) and where
// activity goes.
import type { Clock } from '../clock.js';
import type { Gate } from '../engine/types.js';
import type { Channel } from '../notify/types.js';
import type { Policy } from '../policy/schema.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry } from '../store/types.js';
import { PatchService } from '../approvals/patches.js';
import { Access } from '../access/access.js';
import { SqliteAccessStore } from '../access/token-store.js';
import { windowGate } from './gate.js';
import { windowsPolicyProblems } from './policy-check.js';
import { WindowsService } from './service.js';
import type { ValidationSummary } from './types.js';

export interface WindowsHost {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  /** Every channel of the policy, by name. */
  channels?: ReadonlyMap<string, Channel>;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  healthCheck?: () => Promise<ValidationSummary>;
  env?: NodeJS.ProcessEnv;
  sleep?: (ms: number) => Promise<void>;
  /** Who is asking (tokens, sessions); built on the same database when not given. */
  access?: Access;
}

export interface WindowsModule {
  service: WindowsService;
  patches: PatchService;
  /** Tokens and the people they prove (src/access). */
  access: Access;
  channels: ReadonlyMap<string, Channel>;
  /** The engine gate: regular windows, approved windows from the store, blackouts. */
  gate: Gate;
  /** Call every minute from the daemon: reminders, expiries, patch notices and SLA alerts. */
  tick(): Promise<void>;
  /** Policy problems worth telling the operator (unknown channels, roles nobody holds, ...). */
  warnings: string[];
}

export function createWindowsModule(host: WindowsHost): WindowsModule {
  const channels = host.channels ?? new Map<string, Channel>();
  const common = {
    db: host.db,
    policy: host.policy,
    clock: host.clock,
    channels,
    ...(host.activity ? { activity: host.activity } : {}),
    ...(host.sleep ? { sleep: host.sleep } : {}),
  };
  const service = new WindowsService({ ...common, ...(host.healthCheck ? { healthCheck: host.healthCheck } : {}) });
  const patches = new PatchService(common);
  const access =
    host.access ??
    new Access({
      policy: host.policy,
      store: new SqliteAccessStore(host.db),
      clock: host.clock,
      ...(host.env ? { env: host.env } : {}),
      ...(host.activity ? { activity: host.activity } : {}),
    });
  return {
    service,
    patches,
    access,
    channels,
    gate: windowGate({ extraWindows: (at) => service.openIntervals(at) }),
    async tick() {
      await service.tick();
      await patches.tick();
    },
    warnings: windowsPolicyProblems(host.policy),
  };
}

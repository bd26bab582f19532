// Wires issue 13 into one Drydock process: the findings service (on the patch service of the
// windows module and the channels of the channel registry). The app attaches it to its store so
// the scan and compliance tasks, which receive only a TaskContext, reach the same instance.
import type { Clock } from '../engine/clock.js';
import type { TaskContext } from '../engine/types.js';
import { DrydockError } from '../errors.js';
import type { Channel } from '../notify/types.js';
import type { Policy } from '../policy/schema.js';
import type { PatchService } from '../approvals/patches.js';
import type { SqliteDatabase } from '../store/sqlite/open.js';
import type { ActivityEntry, Store } from '../store/types.js';
import { FindingService } from './findings.js';

export interface SecurityModule {
  findings: FindingService;
  db: SqliteDatabase;
  policy: Policy;
  /** The directory relative report paths resolve against (the state file's). */
  baseDir: string;
  /** Call every minute from the daemon: exceptions taking hold and expiring, SLA alerts. */
  tick(): Promise<void>;
}

export interface SecurityHost {
  db: SqliteDatabase;
  policy: Policy;
  clock: Clock;
  channels: ReadonlyMap<string, Channel>;
  patches: PatchService;
  baseDir: string;
  activity?: (entry: ActivityEntry) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

export function createSecurityModule(host: SecurityHost): SecurityModule {
  const findings = new FindingService({
    db: host.db,
    policy: host.policy,
    clock: host.clock,
    channels: host.channels,
    patches: host.patches,
    ...(host.activity ? { activity: host.activity } : {}),
    ...(host.sleep ? { sleep: host.sleep } : {}),
  });
  return {
    findings,
    db: host.db,
    policy: host.policy,
    baseDir: host.baseDir,
    async tick() {
      await findings.tick();
    },
  };
}

const attached = new WeakMap<Store, SecurityModule>();

export function attachSecurity(store: Store, module: SecurityModule): void {
  attached.set(store, module);
}

export function securityFor(ctx: Pick<TaskContext, 'store' | 'taskId'>): SecurityModule {
  const module = ctx.store ? attached.get(ctx.store) : undefined;
  if (!module)
    throw new DrydockError('INTERNAL', `${ctx.taskId} needs the security module, which this process did not attach`, {
      hint: 'run it through drydock (openApp), which wires findings, patches and channels',
    });
  return module;
}

// dependencies.docker (monthly): for each FROM line of the policy's Dockerfiles, asks the image
// registry (OCI distribution API) for newer tags of the same flavour and for the digest the tag
// points to now, proposes the update pinned to a digest, scans the proposed image with the policy's
// scanner (Trivy or Grype JSON), and records a change record with the scan result: blocked when a
// finding reaches the threshold (`high` per the spec), otherwise waiting for approval.
import { resolve } from 'node:path';
import { exec } from '../../adapters/exec.js';
import { DrydockError } from '../../errors.js';
import { redactor } from '../../policy/redact.js';
import type { ImplementedTask, TaskContext, ValidationResult } from '../../engine/types.js';
import { toSchedule } from '../../schedule/frequency.js';
import {
  defaultScanCommand,
  newerTag,
  readFromLines,
  summariseScan,
  type ScanSummary,
  type FromLine,
} from '../../dependencies/docker/images.js';
import { formatImageRef, OciClient, parseImageRef, type ImageRef } from '../../dependencies/docker/registry.js';
import { dependencyStoreOf } from '../../dependencies/shared.js';
import type { DependencyStore, UpdateType } from '../../dependencies/store.js';

export interface DockerProposal {
  id: number;
  dockerfile: string;
  line: number;
  image: string;
  from: string;
  to: string;
  type: UpdateType;
  blocked: boolean;
  scan: ScanSummary;
}

export interface DockerImagesResult {
  dockerfiles: string[];
  images: number;
  proposals: DockerProposal[];
  upToDate: string[];
  failed: Array<{ image: string; reason: string }>;
}

export const dockerImagesTask: ImplementedTask<DockerImagesResult> = {
  id: 'dependencies.docker',
  title: 'Docker base image updates with a Trivy scan',
  implemented: true,
  disruptive: false,
  class: 'maintenance',
  schedule: (policy) => toSchedule(policy.dependencies.docker),
  resources: (policy) => policy.dependencies.docker.dockerfiles.map((f) => `dockerfile:${resolve(f)}`),
  execute: executeDockerImages,
  validate: validateDockerImages,
};

function watched(ctx: TaskContext, ref: ImageRef): boolean {
  const names = ctx.policy.dependencies.docker.images;
  return names.length === 0 || names.includes(ref.repository.split('/').pop()!);
}

async function executeDockerImages(ctx: TaskContext): Promise<DockerImagesResult> {
  const cfg = ctx.policy.dependencies.docker;
  if (cfg.dockerfiles.length === 0) {
    // The spec schedules this task for everyone; a policy that lists no Dockerfile has nothing to check.
    ctx.summary('not configured: dependencies.docker.dockerfiles is empty, so there is no base image to check');
    return { dockerfiles: [], images: 0, proposals: [], upToDate: [], failed: [] };
  }
  const credentials = cfg.registry_credentials_env ? process.env[cfg.registry_credentials_env] : undefined;
  if (credentials) redactor.register(credentials);
  if (cfg.registry_credentials_env && !credentials)
    throw new DrydockError(
      'CONFIG_INVALID',
      `the environment variable ${cfg.registry_credentials_env} (dependencies.docker.registry_credentials_env) is not set`,
    );
  const client = new OciClient({ insecure: cfg.insecure_registries, ...(credentials ? { credentials } : {}) });
  const store = dependencyStoreOf(ctx);
  const result: DockerImagesResult = { dockerfiles: [], images: 0, proposals: [], upToDate: [], failed: [] };
  for (const file of cfg.dockerfiles) {
    const path = resolve(file);
    result.dockerfiles.push(path);
    for (const from of readFromLines(path)) {
      const ref = parseImageRef(from.image);
      if (!watched(ctx, ref)) continue;
      result.images++;
      await ctx.step(
        `${path}:${from.line} ${from.image}`,
        async (step) => {
          try {
            await checkImage(ctx, client, store, path, from, ref, result, step.output.bind(step));
          } catch (error) {
            result.failed.push({ image: from.image, reason: error instanceof Error ? error.message : String(error) });
            throw error;
          }
        },
        { continueOnError: true },
      );
    }
  }
  ctx.summary(
    `${result.images} base image(s) checked: ${result.proposals.length} update(s) proposed (${result.proposals.filter((p) => p.blocked).length} blocked by the scan), ${result.upToDate.length} up to date, ${result.failed.length} could not be checked`,
  );
  for (const p of result.proposals)
    ctx.summary(
      `#${p.id} ${p.image}: ${p.from} -> ${p.to} (${p.type}) ${p.blocked ? `BLOCKED by ${p.scan.blocking.length} finding(s) at or above ${p.scan.threshold}` : 'scan passed, awaiting approval'}`,
    );
  return result;
}

async function checkImage(
  ctx: TaskContext,
  client: OciClient,
  store: DependencyStore,
  dockerfile: string,
  from: FromLine,
  ref: ImageRef,
  result: DockerImagesResult,
  output: (text: string) => void,
): Promise<void> {
  const cfg = ctx.policy.dependencies.docker;
  const tags = ref.tag ? await client.tags(ref) : [];
  const current = await client.digest(ref, ref.tag ?? ref.digest!);
  output(`${formatImageRef({ ...ref, digest: null })} points to ${current}; ${tags.length} tag(s) in the registry`);
  let proposal: { tag: string | null; type: UpdateType } | null = null;
  const newer = ref.tag ? newerTag(ref.tag, tags) : null;
  if (newer) proposal = { tag: newer.tag, type: newer.type };
  else if (ref.digest !== current) proposal = { tag: ref.tag, type: 'digest' };
  if (!proposal) {
    result.upToDate.push(from.image);
    output('up to date');
    return;
  }
  const digest = proposal.tag === ref.tag ? current : await client.digest(ref, proposal.tag!);
  const target: ImageRef = { ...ref, tag: proposal.tag, digest };
  const image = formatImageRef(target);
  output(
    `proposed: ${image} (${proposal.type === 'digest' ? (ref.digest ? 'the tag was rebuilt' : 'pin the digest') : proposal.type})`,
  );

  const command = (cfg.scan.command ?? defaultScanCommand(cfg.scan.tool)).map((arg) =>
    arg.replaceAll('{image}', image),
  );
  const scanned = await exec(command[0]!, command.slice(1), {
    timeoutMs: cfg.scan.timeout.ms,
    what: `${cfg.scan.tool} scan of ${image}`,
    maxOutput: 64 * 1024 * 1024,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const scan = summariseScan(scanned.stdout, cfg.scan.tool, cfg.scan.threshold);
  output(
    `${cfg.scan.tool}: ${
      Object.entries(scan.counts)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ') || 'no findings'
    }${scan.blocked ? `; blocked (threshold ${scan.threshold})` : ''}`,
  );
  const fromText = `${ref.tag ?? ''}${ref.digest ? `@${ref.digest}` : ''}`;
  const toText = `${target.tag ?? ''}@${digest}`;
  const now = ctx.clock.now();
  const { update, created } = store.propose(
    {
      ecosystem: 'docker',
      target: `${dockerfile}:${from.line}`,
      package: formatImageRef({ ...ref, tag: null, digest: null }),
      fromVersion: fromText,
      toVersion: toText,
      type: proposal.type,
      status: scan.blocked ? 'blocked' : 'pending_approval',
      reason: scan.blocked
        ? `${scan.blocking.length} finding(s) at or above ${scan.threshold} in ${image}`
        : `scan passed (${cfg.scan.tool}, threshold ${scan.threshold}); needs approval by ${cfg.approvers.join(' or ')}`,
      detail: {
        dockerfile,
        line: from.line,
        fromLine: from.text.trim(),
        toLine: from.text.trim().replace(from.image, image),
        scan,
      },
    },
    now,
  );
  // A record kept from an earlier run gets this run's scan: a finding may have been fixed or found since.
  if (!created && (update.status === 'blocked' || update.status === 'pending_approval'))
    store.update(update.id, { status: scan.blocked ? 'blocked' : 'pending_approval', detail: { scan } }, now);
  result.proposals.push({
    id: update.id,
    dockerfile,
    line: from.line,
    image: update.package,
    from: fromText,
    to: toText,
    type: proposal.type,
    blocked: scan.blocked,
    scan,
  });
}

async function validateDockerImages(ctx: TaskContext, result: DockerImagesResult): Promise<ValidationResult> {
  // Every proposal is on record with the status its scan gave it.
  const store = dependencyStoreOf(ctx);
  const checks = result.proposals.map((p) => {
    const record = store.get(p.id);
    const expected = p.blocked ? ['blocked'] : ['pending_approval', 'approved'];
    const ok = record !== null && expected.includes(record.status);
    return {
      name: `${p.image} ${p.to}`,
      ok,
      detail: !record
        ? `change record #${p.id} is missing`
        : p.blocked
          ? `#${p.id} ${record.status}: the scan found ${p.scan.blocking.map((f) => `${f.id} (${f.severity})`).join(', ')}`
          : `#${p.id} ${record.status}`,
    };
  });
  return Promise.resolve({ ok: checks.every((c) => c.ok), checks });
}

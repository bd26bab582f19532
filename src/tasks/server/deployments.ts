// Old deployments: keep the newest N releases that were deployed successfully (a success marker
// file inside the release), never the release the `current` link points to. A failed or
// half-written release never counts toward N; it is removed only once it has been untouched for
// a day (so a deploy in progress is never pulled from under it).
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

export interface Release {
  name: string;
  successful: boolean;
  /** Marker file's modification time: when the release was deployed. */
  deployedAt: number | null;
  mtime: number;
}

export interface DeploymentPlan {
  keep: Array<{ name: string; reason: string }>;
  remove: Array<{ name: string; reason: string }>;
}

const FAILED_RELEASE_GRACE_MS = 86_400_000;

export function planDeployments(
  releases: readonly Release[],
  current: string | null,
  keep: number,
  now: number,
  graceMs = FAILED_RELEASE_GRACE_MS,
): DeploymentPlan {
  const plan: DeploymentPlan = { keep: [], remove: [] };
  const good = releases
    .filter((r) => r.successful)
    .sort((a, b) => (b.deployedAt ?? 0) - (a.deployedAt ?? 0) || (a.name < b.name ? 1 : -1));
  good.forEach((r, i) => {
    if (r.name === current) plan.keep.push({ name: r.name, reason: 'current release' });
    else if (i < keep) plan.keep.push({ name: r.name, reason: `one of the newest ${keep} successful releases` });
    else plan.remove.push({ name: r.name, reason: `successful release older than the newest ${keep}` });
  });
  for (const r of releases.filter((x) => !x.successful)) {
    if (r.name === current) plan.keep.push({ name: r.name, reason: 'current release (no success marker)' });
    else if (now - r.mtime > graceMs)
      plan.remove.push({
        name: r.name,
        reason: 'failed or half-written release (no success marker), untouched for over a day',
      });
    else plan.keep.push({ name: r.name, reason: 'no success marker yet: may still be deploying' });
  }
  return plan;
}

export async function readReleases(
  root: string,
  currentLink: string,
  marker: string,
): Promise<{ releases: Release[]; current: string | null }> {
  let current: string | null;
  try {
    const link = await readlink(join(root, currentLink));
    const target = resolve(root, link);
    current = resolve(target, '..') === resolve(root) ? basename(target) : null;
  } catch {
    current = null;
  }
  const releases: Release[] = [];
  for (const name of await readdir(root)) {
    if (name === currentLink) continue;
    const path = join(root, name);
    const info = await lstat(path);
    // Only real directories are releases; links and files are left alone.
    if (!info.isDirectory()) continue;
    let deployedAt: number | null = null;
    try {
      const m = await lstat(join(path, marker));
      if (m.isFile()) deployedAt = m.mtimeMs;
    } catch {
      deployedAt = null;
    }
    releases.push({ name, successful: deployedAt !== null, deployedAt, mtime: (await stat(path)).mtimeMs });
  }
  return { releases, current };
}

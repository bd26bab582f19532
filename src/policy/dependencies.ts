// The policy keys of dependency maintenance (issue 14) that the spec leaves to us: where the
// application's git repository is and how to test it, which registry to ask, how long a release
// must soak before Drydock proposes it, where security advisories come from, who approves minor and
// major updates, which Dockerfiles to watch and how to scan, and which apt roots are staging and
// production. schema.ts spreads these shapes into the spec's `dependencies` section.
import { z } from 'zod';
import { duration, list, str } from './fields.js';

const argv = (what: string, example: string[]) =>
  list(str(`${what} argument`))
    .min(1, { message: `expected a command as a list of arguments, like ${JSON.stringify(example)}` })
    .meta({ description: `${what}, as a list of arguments (run without a shell)`, examples: [example] });

/** The application under maintenance: a git working copy, the branch updates merge into, its tests. */
const npmRepository = z
  .strictObject({
    path: str('a directory path').meta({
      description: 'A git working copy of the application (package.json at its root).',
    }),
    branch: str('a branch name').default('main'),
    test_command: argv('The application test command', ['npm', 'test']).default(['npm', 'test']),
  })
  .meta({ description: 'The application repository Drydock updates.' });

export const npmPolicyFields = {
  repository: npmRepository.optional(),
  /** The registry both the plan and npm itself use; default npm's own. */
  registry: z
    .url({ message: 'expected a registry URL like "https://registry.npmjs.org"' })
    .default('https://registry.npmjs.org'),
  /** Name of the environment variable holding a registry token (never the token itself). */
  registry_token_env: str('an environment variable name').optional(),
  /** Minimum release age before a non-security update is proposed (Renovate's minimumReleaseAge). */
  soak: duration().prefault('3 days'),
  /** OSV JSON advisories (a list of OSV records, or {"vulns": [...]}) for direct and transitive packages. */
  advisories: str('a file path').optional(),
  /** Roles that approve minor and major updates (any one of them). */
  approvers: list(str('a role')).default(['CTO', 'Head of Operations']),
  install_timeout: duration().prefault('10 minutes'),
  test_timeout: duration().prefault('15 minutes'),
};

export const npmSecurityFields = {
  /** Security updates skip the soak unless this is longer than zero (a guard against malicious "fix" releases). */
  soak: duration().prefault('0'),
};

/** Base images: the Dockerfiles to read, how to reach their registries, and the scanner to run. */
export const dockerPolicyFields = {
  /** Dockerfiles whose FROM lines are kept current. */
  dockerfiles: list(str('a Dockerfile path')).default([]),
  /** Registries reached over plain HTTP (host:port), e.g. a registry on loopback. */
  insecure_registries: list(str('a host:port')).default([]),
  /** Name of the environment variable holding "user:password" for registries that ask for it. */
  registry_credentials_env: str('an environment variable name').optional(),
  approvers: list(str('a role')).default(['CTO', 'Head of Operations']),
};

export const dockerScanFields = {
  /**
   * The scanner command, as a list of arguments; "{image}" in an argument becomes the image
   * reference (name:tag@digest). Default: the tool's JSON mode (trivy image -f json / grype -o json).
   */
  command: list(str('a scanner argument')).optional(),
  timeout: duration().prefault('10 minutes'),
};

/** An apt/dpkg target: "/" is the host itself; another path is a separate root with its own dpkg database. */
const aptTarget = (what: string) =>
  z.strictObject({
    root: str('a directory path').meta({
      description: `The ${what} root: "/" for this host, or a directory holding its own etc/apt and var/lib/dpkg.`,
    }),
    test_command: argv(`The ${what} test command`, ['/usr/local/bin/smoke-test']).optional(),
  });

/** System packages: staging first, then production inside a maintenance window. */
export const systemPolicyFields = {
  staging: aptTarget('staging').optional(),
  production: aptTarget('production').prefault({ root: '/' }),
  /** Run inside a maintenance window when a reboot is required; without it the reboot is only recorded. */
  reboot_command: argv('The reboot command', ['systemctl', 'reboot']).optional(),
  upgrade_timeout: duration().prefault('30 minutes'),
  test_timeout: duration().prefault('15 minutes'),
};

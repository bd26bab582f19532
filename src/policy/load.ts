import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { DrydockError } from '../errors.js';
import { policySchema, type Policy } from './schema.js';

export interface PolicyProblem {
  /** Dotted path with list indexes: database.vacuum.tables[1] */
  path: string;
  message: string;
  /** 1-based line and column in the policy file, when known. */
  line?: number;
  column?: number;
}

export interface LoadedPolicy {
  policy: Policy;
  /** Absolute path of the file, or null when running on the built-in defaults. */
  file: string | null;
  /** Folder relative paths in the policy are resolved against. */
  baseDir: string;
}

export class PolicyError extends DrydockError {
  constructor(
    readonly file: string | null,
    readonly problems: PolicyProblem[],
  ) {
    super('CONFIG_INVALID', formatProblems(file, problems));
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

function formatProblems(file: string | null, problems: PolicyProblem[]): string {
  const where = file ?? 'policy';
  const lines = problems.map((p) => {
    const position = p.line ? `${where}:${p.line}:${p.column ?? 1}: ` : '';
    return `  ${position}${p.path}: ${p.message}`;
  });
  return `${where}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`;
}

function positionOf(
  doc: Document,
  counter: LineCounter,
  path: ReadonlyArray<PropertyKey>,
  atKey = false,
): { line?: number; column?: number } {
  let node: unknown = doc.contents;
  let last: Node | undefined = doc.contents ?? undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      node = pair.value;
      last = (atKey || pair.value === null ? pair.key : pair.value) as Node;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      last = node as Node;
    } else break;
  }
  const offset = last?.range?.[0];
  if (offset === undefined) return {};
  const pos = counter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** zod issues → problems with paths a person can find in the file. */
function problemsFromZod(issues: z.core.$ZodIssue[], doc?: Document, counter?: LineCounter): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        problems.push({
          path: formatPath(path),
          message: `unknown key "${key}"`,
          ...(doc && counter ? positionOf(doc, counter, path, true) : {}),
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors)) {
      // Report the branch closest to the input: the one with the fewest issues.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      if (best && best.length > 0) {
        problems.push(
          ...problemsFromZod(
            best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
            doc,
            counter,
          ),
        );
        continue;
      }
    }
    problems.push({
      path: formatPath(issue.path),
      message: issue.message,
      ...(doc && counter ? positionOf(doc, counter, issue.path) : {}),
    });
  }
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Validates an already-parsed object (for tests and the API). */
export function parsePolicy(input: unknown, file: string | null = null): Policy {
  const result = policySchema.safeParse(input ?? {});
  if (!result.success) throw new PolicyError(file, problemsFromZod(result.error.issues));
  return result.data;
}

/** A policy is a few kilobytes; anything past this is refused before it is parsed. */
export const MAX_POLICY_BYTES = 1024 * 1024;
/** YAML aliases expanded at most this many times (a "billion laughs" document expands them exponentially). */
const MAX_ALIAS_COUNT = 100;

export function parsePolicyText(text: string, file: string | null = null): Policy {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_POLICY_BYTES) {
    throw new PolicyError(file, [
      {
        path: '(file)',
        message: `the policy is ${size} bytes; more than ${MAX_POLICY_BYTES} bytes is refused as not a policy file`,
      },
    ]);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((error) => {
        const pos = counter.linePos(error.pos[0]);
        return {
          path: '(yaml)',
          message: error.message.split('\n')[0]!,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
        };
      }),
    );
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml refuses a document whose aliases would expand past maxAliasCount (resource exhaustion).
    throw new PolicyError(file, [{ path: '(yaml)', message: (error as Error).message }]);
  }
  const result = policySchema.safeParse(input ?? {});
  if (!result.success) throw new PolicyError(file, problemsFromZod(result.error.issues, doc, counter));
  return result.data;
}

/**
 * Finds and loads the policy: an explicit path, else $DRYDOCK_POLICY, else ./drydock.yaml if it
 * exists, else the built-in defaults (Dokkerr's spec).
 */
export function loadPolicy(
  explicitPath?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LoadedPolicy {
  const candidate =
    explicitPath ?? env.DRYDOCK_POLICY ?? (existsSync(resolve(cwd, 'drydock.yaml')) ? 'drydock.yaml' : undefined);
  if (!candidate) return { policy: parsePolicy({}), file: null, baseDir: cwd };
  const file = isAbsolute(candidate) ? candidate : resolve(cwd, candidate);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DrydockError(
      'CONFIG_INVALID',
      `cannot read policy file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {
        hint: 'pass --policy PATH or set DRYDOCK_POLICY',
      },
    );
  }
  return { policy: parsePolicyText(text, file), file, baseDir: dirname(file) };
}

export function statePath(loaded: LoadedPolicy): string {
  const path = loaded.policy.state.path;
  return isAbsolute(path) ? path : resolve(loaded.baseDir, path);
}

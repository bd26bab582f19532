// The certificate and key on disk: read, installed atomically with the previous pair kept for
// rollback, and put back. Each file is written to a temporary name in its own directory, flushed,
// then renamed over the old one, so a reader (a server reloading) sees the old file or the new one,
// never half of either. The key is created with mode 0600 from the first byte.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DrydockError } from '../../errors.js';

export interface PairPaths {
  key: string;
  cert: string;
}

export interface Pair {
  keyPem: string;
  certPem: string;
}

export const previousPath = (file: string) => `${file}.previous`;

/** The leaf of the certificate file (the first PEM block), or null when the file does not exist. */
export function readLeaf(certFile: string): X509Certificate | null {
  if (!existsSync(certFile)) return null;
  try {
    return new X509Certificate(readFileSync(certFile));
  } catch (error) {
    throw new DrydockError('VALIDATION_FAILED', `${certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/** Number of certificates in a PEM bundle. */
export function countCertificates(pem: string): number {
  return pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}

/** True when the key belongs to the certificate. Never puts the key in an error. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.drydock-${process.pid}-${Date.now()}.tmp`;
  // O_EXCL: never write through a file (or symlink) someone placed at the temporary name.
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface Installed {
  /** False on a first issuance: there was no pair to keep. */
  keptPrevious: boolean;
}

/**
 * Keeps the current pair as <file>.previous, then puts the new pair in place: the certificate
 * first, the key right after (two renames; a server reloads only after both, in the task). If the
 * second rename fails, the first is undone.
 */
export async function installPair(paths: PairPaths, pair: Pair): Promise<Installed> {
  if (!keyMatches(pair.certPem, pair.keyPem))
    throw new DrydockError('VALIDATION_FAILED', `the new key does not match the new certificate for ${paths.cert}`);
  const hadCert = existsSync(paths.cert);
  const hadKey = existsSync(paths.key);
  const keptPrevious = hadCert && hadKey;
  if (keptPrevious) {
    await writeAtomically(previousPath(paths.key), await readFile(paths.key, 'utf8'), 0o600);
    await writeAtomically(previousPath(paths.cert), await readFile(paths.cert, 'utf8'), 0o644);
  }
  await writeAtomically(paths.cert, pair.certPem, 0o644);
  try {
    await writeAtomically(paths.key, pair.keyPem, 0o600);
  } catch (error) {
    if (keptPrevious) await writeAtomically(paths.cert, await readFile(previousPath(paths.cert), 'utf8'), 0o644);
    else await rm(paths.cert, { force: true });
    throw new DrydockError(
      'EXEC_FAILED',
      `cannot write ${paths.key}: ${(error as NodeJS.ErrnoException).code ?? 'error'}; the previous certificate was put back`,
      {
        retryable: true,
      },
    );
  }
  await syncDirectory(dirname(paths.cert));
  if (dirname(paths.key) !== dirname(paths.cert)) await syncDirectory(dirname(paths.key));
  return { keptPrevious };
}

/**
 * Puts the previous pair back. After a first issuance there is none: the new files are moved
 * aside to <file>.failed so the disk is as it was before the run.
 */
export async function rollbackPair(paths: PairPaths, installed: Installed): Promise<string> {
  if (installed.keptPrevious) {
    await writeAtomically(paths.key, await readFile(previousPath(paths.key), 'utf8'), 0o600);
    await writeAtomically(paths.cert, await readFile(previousPath(paths.cert), 'utf8'), 0o644);
    return `put ${previousPath(paths.cert)} and ${previousPath(paths.key)} back in place`;
  }
  await rename(paths.key, `${paths.key}.failed`);
  await rename(paths.cert, `${paths.cert}.failed`);
  return `moved the new pair aside to ${paths.cert}.failed and ${paths.key}.failed (there was no previous pair)`;
}

/** The shell lines an operator runs to roll back by hand (for alerts); nothing is run from here. */
export function rollbackInstructions(paths: PairPaths, reload: readonly string[] | undefined): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  const lines = [
    `cp -p ${quote(previousPath(paths.key))} ${quote(paths.key)}`,
    `cp -p ${quote(previousPath(paths.cert))} ${quote(paths.cert)}`,
  ];
  if (reload) lines.push(reload.map(quote).join(' '));
  return lines.join(' && ');
}

import { statSync } from 'node:fs';
import { DrydockError } from '../../errors.js';
import type { AdvisoryAge } from '../types.js';

/** How old an advisory database file is: its modification time, which the refresh task sets. */
export function advisoryAge(file: string, now: Date = new Date()): AdvisoryAge {
  let mtime: Date;
  try {
    mtime = statSync(file).mtime;
  } catch (error) {
    throw new DrydockError('VALIDATION_FAILED', `advisory file ${file} cannot be read: ${(error as Error).message}`);
  }
  return { file, modifiedAt: mtime, ageMs: Math.max(0, now.getTime() - mtime.getTime()) };
}

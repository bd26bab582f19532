// A full repository disk turned into a message a person can act on.
import { DrydockError } from '../../errors.js';

export function storageError(error: unknown, repositoryRoot: string, what: string, hint: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DrydockError('EXEC_FAILED', `the backup repository ${repositoryRoot} is full: ${what} was not kept`, {
      hint,
      cause: error,
    });
  }
  return error;
}

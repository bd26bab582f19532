import { DrydockError, describeError } from '../../errors.js';
import type { ScannerKind, ScannerOutcome } from '../types.js';

type Reason = (ScannerOutcome & { ok: false })['reason'];

/** A scanner failure as a ScannerOutcome naming the scanner; a DrydockError's details.reason says which kind. */
export function scannerFailure(scanner: ScannerKind, error: unknown, what: string): ScannerOutcome & { ok: false } {
  let reason: Reason = 'error';
  if (error instanceof DrydockError) {
    if (typeof error.details.reason === 'string') reason = error.details.reason as Reason;
    else if (error.code === 'EXEC_TIMEOUT') reason = 'timeout';
    else if (error.code === 'EXEC_FAILED') reason = /not found/.test(error.message) ? 'not_installed' : 'crashed';
  }
  return { scanner, ok: false, reason, error: `${scanner} scanner: ${what}: ${describeError(error)}` };
}

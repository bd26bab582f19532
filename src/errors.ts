// One error style for the whole project: a stable code, a message a person can act on, and
// whether trying again could help (BullMQ's UnrecoverableError idea, as a flag).
export type ErrorCode =
  | 'CONFIG_INVALID'
  /** A command line that cannot be carried out as given (a bad option value, an unknown task id): exit 2. */
  | 'USAGE'
  | 'SECRET_MISSING'
  | 'TARGET_UNREACHABLE'
  | 'TARGET_AUTH_FAILED'
  | 'TABLE_MISSING'
  | 'LOCK_TIMEOUT'
  | 'TASK_UNKNOWN'
  | 'TASK_NOT_IMPLEMENTED'
  | 'VALIDATION_FAILED'
  | 'ABORTED'
  | 'EXEC_FAILED'
  | 'EXEC_TIMEOUT'
  /** A DNS server did not answer in time, or answered bytes that are not a DNS reply to the question (issue 12). */
  | 'DNS_TIMEOUT'
  | 'DNS_MALFORMED'
  /** A firewall ruleset that does not parse, or a firewall change that cannot be carried out (issue 12). */
  | 'FIREWALL_INVALID'
  /** A dependency update stopped: dirty working copy, moved branch, failed tests, npm/apt/registry refusal. */
  | 'DEPENDENCY_UPDATE_STOPPED'
  /** Stored data that fails its checksum, is truncated or missing, or a stream not in the expected format. */
  | 'DATA_DAMAGED'
  | 'INTERNAL';

export class DrydockError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retryable?: boolean; hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DrydockError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

/** Node socket errors that a second attempt may not meet (a dropped or refused connection). */
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Whether trying again could help. A DrydockError says so itself. Anything else is not retried
 * (a damaged file, a bug, a refused statement stay as they are), except what is transient by
 * nature: a dropped or refused connection, and PostgreSQL's connection exceptions (SQLSTATE class
 * 08), admin/crash shutdowns (57P01-57P03), serialization failures (40001) and deadlocks (40P01).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof DrydockError) return error.retryable;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (
    TRANSIENT_ERRNO.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '40001', '40P01'].includes(code)
  );
}

/** "message (hint)" for people; never includes a stack. */
export function describeError(error: unknown): string {
  if (error instanceof DrydockError) return error.hint ? `${error.message}. ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

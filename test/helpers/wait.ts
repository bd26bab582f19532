// The one polling helper of the suite: tests wait for a condition, never for a fixed time. Two call
// forms (branches written in parallel used both; this file serves either):
//   waitFor('what', probe, timeoutMs?, intervalMs?)        a probe error fails at once
//   waitFor(probe, { what?, timeoutMs?, intervalMs? })     a probe error counts as "not yet"
// The probe's value is returned once it is neither undefined nor false.

type Probe<T> = () => Promise<T | undefined | false> | T | undefined | false;

interface WaitOptions {
  what?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

export async function waitFor<T>(
  what: string | (() => string),
  probe: Probe<T>,
  timeoutMs?: number,
  intervalMs?: number,
): Promise<T>;
export async function waitFor<T>(probe: Probe<T>, options?: WaitOptions): Promise<T>;
export async function waitFor<T>(
  first: string | (() => string) | Probe<T>,
  second?: Probe<T> | WaitOptions,
  timeoutArg?: number,
  intervalArg?: number,
): Promise<T> {
  const named = typeof second === 'function';
  const probe = (named ? second : first) as Probe<T>;
  const options: WaitOptions = named ? {} : (second ?? {});
  const describe = () =>
    named ? (typeof first === 'function' ? (first as () => string)() : first) : (options.what ?? 'a condition');
  const timeoutMs = (named ? timeoutArg : options.timeoutMs) ?? 30_000;
  const intervalMs = (named ? intervalArg : options.intervalMs) ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (named) throw error;
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${describe()}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

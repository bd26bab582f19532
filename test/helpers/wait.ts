// Polls a condition until it holds or the time is up (never a fixed sleep in tests).
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${options.what ?? 'a condition'}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** Collects what console.error prints during test `t`, instead of printing it. */
export function captureStderr(t: { teardown(fn: () => unknown): void }): unknown[][] {
  const printed: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  t.teardown(() => {
    console.error = consoleError;
  });
  return printed;
}

/** Helpers for the tests that prove no password or guard code leaks. */

/** Every 6-character piece of a secret (the whole of a shorter one): a partial quote counts as a leak. */
export function secretPieces(secret: string): string[] {
  if (secret.length <= 6) return [secret];
  return Array.from({ length: secret.length - 5 }, (_, i) => secret.slice(i, i + 6));
}

/**
 * Records everything this process writes to stdout and stderr (and its
 * warnings) until the returned function is called; that returns the text.
 */
export function capturePrinted(): () => string {
  let printed = '';
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      printed += String(chunk);
      return write(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = write));
  }
  const onWarning = (warning: Error): void => void (printed += String(warning));
  process.on('warning', onWarning);
  return () => {
    for (const undo of restore) undo();
    process.off('warning', onWarning);
    return printed;
  };
}

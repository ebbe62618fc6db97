/** Helpers for the tests that prove no password or guard code leaks. */

/** Every 6-character piece of a secret (the whole of a shorter one): a partial quote counts as a leak. */
export function secretPieces(secret: string): string[] {
  if (secret.length <= 6) return [secret];
  return Array.from({ length: secret.length - 5 }, (_, i) => secret.slice(i, i + 6));
}

/**
 * What to look for of a refresh or access token (a JWT: header.payload.signature):
 * the token, its payload and its signature, and every 12-character piece of
 * those two — the header is the same in every JWT, and shorter pieces of
 * random base64url could turn up by chance in other random text (resume tokens).
 */
export function tokenPieces(token: string): string[] {
  const [, payload = '', signature = ''] = token.split('.');
  const windows = (part: string): string[] => Array.from({ length: Math.max(0, part.length - 11) }, (_, i) => part.slice(i, i + 12));
  return [token, payload, signature, ...windows(payload), ...windows(signature)].filter((piece) => piece.length >= 12);
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

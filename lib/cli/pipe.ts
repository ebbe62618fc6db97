/** Output to a reader that may go away. */

/** A reader that went away (EPIPE), or a terminal that was closed (EIO after the hang-up). */
const GONE = new Set(['EPIPE', 'EIO', 'ERR_STREAM_DESTROYED']);

/**
 * A reader that went away (`steam-key redeem keys.txt | head`, a log
 * collector that restarts) or a terminal window that was closed ends the
 * output, not the process: without a listener, EPIPE or EIO on stdout is an
 * uncaught error that kills it — and with it every key still with Steam and
 * the results not yet written.
 */
export function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (!GONE.has(error.code ?? '')) throw error;
  });
}

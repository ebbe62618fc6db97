/** Output to a reader that may go away. */

/**
 * A reader that went away (`steam-key redeem keys.txt | head`, a log
 * collector that restarts) ends the output, not the process: without a
 * listener, EPIPE on stdout is an uncaught error that kills it — and with it
 * every key still with Steam.
 */
export function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

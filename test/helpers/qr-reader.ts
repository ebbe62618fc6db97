/**
 * Reads back a QR code that `steam-key redeem` drew in a terminal
 * (lib/cli/qr-terminal.ts), with a QR reader nobody here wrote (jsQR): the
 * half blocks become pixels, and jsQR must find and decode the code in them,
 * as a phone's camera would.
 */
import jsqr from 'jsqr';
import { HALF_BLOCKS } from '../../lib/cli/qr-terminal.js';

// A CommonJS module whose types say `export default`: under NodeNext the default import is
// module.exports, which carries the function again as `.default`.
const jsQR = jsqr.default;

const COLOURED_LINE = /^\x1b\[30;107m([ ▀▄█]+)\x1b\[0m$/;

/** Every QR code drawn in `text` (a transcript: \r\n or \n line ends, other lines between), as module rows. */
export function drawnCodes(text: string): boolean[][][] {
  const codes: boolean[][][] = [];
  let rows: boolean[][] | null = null;
  for (const line of text.split(/\r?\n/)) {
    const cells = COLOURED_LINE.exec(line)?.[1];
    if (cells === undefined) {
      rows = null;
      continue;
    }
    if (!rows) codes.push((rows = []));
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const cell of cells) {
      const [t, b] = HALF_BLOCKS[cell]!;
      top.push(t);
      bottom.push(b);
    }
    rows.push(top, bottom);
  }
  return codes;
}

/** Decodes one drawn code with jsQR, 4 pixels per module on a white margin; null when jsQR finds none. */
export function decodeModules(rows: boolean[][], scale = 4, margin = 8): string | null {
  const size = rows[0]!.length;
  const width = size * scale + 2 * margin;
  const height = rows.length * scale + 2 * margin;
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  rows.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const at = ((margin + y * scale + dy) * width + margin + x * scale + dx) * 4;
          pixels.fill(0, at, at + 3);
        }
      }
    }),
  );
  return jsQR(pixels, width, height, { inversionAttempts: 'dontInvert' })?.data ?? null;
}

/** The text of every QR code drawn in `text`, in order. */
export function decodeDrawn(text: string): (string | null)[] {
  return drawnCodes(text).map((rows) => decodeModules(rows));
}

/** Decodes the QR code in an image (RGBA pixels, as a canvas gives them); null when jsQR finds none. */
export function decodePixels(rgba: Uint8ClampedArray, width: number, height: number): string | null {
  return jsQR(rgba, width, height)?.data ?? null;
}

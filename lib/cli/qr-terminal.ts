/**
 * A QR code drawn in a terminal with Unicode half blocks, two rows of modules
 * per line, so a sign-in link fits in well under 80 columns (a Steam
 * challenge: 33 columns, 17 lines). The encoding is the `uqr` package's; this
 * file only draws its modules.
 *
 * Colours are explicit — dark modules black on a white background (SGR 30 and
 * 107) — because a terminal's own colours may be light on dark, which would
 * draw the code inverted, and not every phone's scanner reads that.
 */
import { encode } from 'uqr';

/** Light modules around the code (the "quiet zone"; 2 reads well on a screen, 4 is the print norm). */
const BORDER = 2;
const DARK_ON_LIGHT = '\x1b[30;107m';
const RESET = '\x1b[0m';

/** What a character cell shows: [top module dark, bottom module dark]. */
export const HALF_BLOCKS: Readonly<Record<string, readonly [boolean, boolean]>> = Object.freeze({
  ' ': [false, false],
  '▀': [true, false],
  '▄': [false, true],
  '█': [true, true],
});

/** The lines that draw `text` as a QR code (error correction M), each with its colours. */
export function qrLines(text: string): string[] {
  const { data } = encode(text, { ecc: 'M', border: BORDER });
  const lines: string[] = [];
  for (let y = 0; y < data.length; y += 2) {
    const top = data[y]!;
    const bottom = data[y + 1]; // past the last row: light
    let line = '';
    for (let x = 0; x < top.length; x++) {
      const cell = [top[x] === true, bottom?.[x] === true] as const;
      line += cell[0] ? (cell[1] ? '█' : '▀') : cell[1] ? '▄' : ' ';
    }
    lines.push(`${DARK_ON_LIGHT}${line}${RESET}`);
  }
  return lines;
}

// The sign-in QR code, drawn as SVG from Steam's challenge URL. The encoding
// is the uqr package's (served as /uqr.js by lib/app/page.ts, the encoder the
// terminal uses too); this file only draws its modules: one <path>, one unit
// per module, so the code stays sharp at any size. Built with DOM calls, not
// markup: nothing inline for the CSP to refuse, nothing parsed from a string.
import { encode } from './uqr.js';

/**
 * Light modules around the code: the quiet zone ISO/IEC 18004 asks for
 * (4 modules), so a camera finds the code's edges against any background.
 */
const QUIET_ZONE = 4;

/**
 * Draws `text` as a QR code into `svg` (an <svg> of the page), replacing what
 * it held. Error correction M, as the terminal's (lib/cli/qr-terminal.ts): a
 * phone reads it off a glossy screen. Returns the number of modules a side.
 */
export function drawQr(svg, text) {
  const { data } = encode(text, { ecc: 'M', border: QUIET_ZONE });
  const size = data.length;
  const ns = svg.namespaceURI; // the SVG namespace, taken from the element: no URL in this file
  let d = '';
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    }),
  );
  const light = document.createElementNS(ns, 'rect');
  light.setAttribute('width', String(size));
  light.setAttribute('height', String(size));
  light.setAttribute('fill', '#fff');
  const dark = document.createElementNS(ns, 'path');
  dark.setAttribute('d', d);
  dark.setAttribute('fill', '#000');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.replaceChildren(light, dark);
  return size;
}

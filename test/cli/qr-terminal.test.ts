import t from 'tap';
import { qrLines } from '../../lib/cli/qr-terminal.js';
import { decodeDrawn, decodeModules, drawnCodes } from '../helpers/qr-reader.js';

const visible = (line: string): string => line.replace(/\x1b\[[0-9;]*m/g, '');

t.test('a Steam challenge, drawn and read back by jsQR', async (t) => {
  const url = 'https://s.team/q/1/2765123456789012345';
  const lines = qrLines(url);
  t.same(decodeDrawn(lines.join('\n')), [url]);
  t.ok(lines.every((l) => visible(l).length === visible(lines[0]!).length), 'a rectangle');
  t.ok(visible(lines[0]!).length <= 40, `narrow: ${visible(lines[0]!).length} columns`);
  t.ok(lines.length <= 20, `short: ${lines.length} lines`);
  t.ok(lines.every((l) => l.startsWith('\x1b[30;107m') && l.endsWith('\x1b[0m')), 'dark on light, whatever the terminal\'s colours');
});

t.test('longer links still fit 80 columns and read back', async (t) => {
  for (const url of [
    'http://192.168.100.200:3999/demo-app/r/AbCdEfGhIjKlMnOpQrStUv',
    `https://s.team/q/1/${'9'.repeat(20)}?extra=${'x'.repeat(120)}`,
  ]) {
    const lines = qrLines(url);
    t.ok(visible(lines[0]!).length <= 80, `${visible(lines[0]!).length} columns`);
    t.same(decodeDrawn(lines.join('\r\n')), [url], url);
  }
});

t.test('the reader is not fooled: a damaged code does not read as the link', async (t) => {
  const url = 'https://s.team/q/1/2765123456789012345';
  const [rows] = drawnCodes(qrLines(url).join('\n'));
  // Blank the three finder patterns' corner: no code is found any more.
  const damaged = rows!.map((row, y) => row.map((dark, x) => (y < 12 && x < 12 ? false : dark)));
  t.not(decodeModules(damaged), url);
  t.same(drawnCodes('no code here\nat all'), []);
});

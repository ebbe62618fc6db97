/** The version in package.json. */
import { readFileSync } from 'node:fs';

/** Run from source (lib/cli/) or built (dist/lib/cli/), package.json is two or three levels up. */
const CANDIDATES = ['../../package.json', '../../../package.json'];

export function version(): string {
  for (const path of CANDIDATES) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'steam-key' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  throw new Error('package.json of steam-key not found');
}

// tsc compiles lib/ into dist/ but copies nothing else: the page's static
// files (lib/app/page/) go beside the compiled lib/app/page.js, which reads them.
// The fake Steam's certificates go beside its compiled code too: bench/hostile.ts
// runs it from dist/ (it reads them relative to its own file).
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/lib/app/page', { recursive: true, force: true });
cpSync('lib/app/page', 'dist/lib/app/page', { recursive: true });
rmSync('dist/test/fake-steam/fixtures', { recursive: true, force: true });
cpSync('test/fake-steam/fixtures', 'dist/test/fake-steam/fixtures', { recursive: true });

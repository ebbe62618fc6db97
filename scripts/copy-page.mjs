// tsc compiles lib/ into dist/ but copies nothing else: the page's static
// files (lib/app/page/) go beside the compiled lib/app/page.js, which reads them.
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/lib/app/page', { recursive: true, force: true });
cpSync('lib/app/page', 'dist/lib/app/page', { recursive: true });

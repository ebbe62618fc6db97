// The cases run steam-user, which must trust the fake's test CA from start-up.
import { runWithTestCa } from './run-with-test-ca.js';

runWithTestCa(new URL('./fake-steam.cases.ts', import.meta.url));

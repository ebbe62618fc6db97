// The cases run steam-user, which must trust the fake Steam's test CA from start-up.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

runWithTestCa(new URL('./steam-user-port.cases.ts', import.meta.url));

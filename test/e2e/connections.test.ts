// Lost page and Steam connections with the real steam-user: the cases run in a process
// that trusts the fake Steam's test CA.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

runWithTestCa(new URL('./connections.cases.ts', import.meta.url));

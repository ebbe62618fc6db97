// Signing in through the page protocol with the real steam-user: the cases run in a
// process that trusts the fake Steam's test CA.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

runWithTestCa(new URL('./login.cases.ts', import.meta.url));

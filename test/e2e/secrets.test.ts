// No secret leaks with the real steam-user in the loop: the cases run in a process that
// trusts the fake Steam's test CA.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

runWithTestCa(new URL('./secrets.cases.ts', import.meta.url));

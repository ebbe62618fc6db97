// The ways to sign in without the password, through the session with the real steam-user and
// steam-session: the cases run in a process that trusts the fake Steam's test CA.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

runWithTestCa(new URL('./sign-in-methods.cases.ts', import.meta.url));

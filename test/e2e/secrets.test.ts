// No secret leaks with the real steam-user in the loop: the cases run in a process that
// trusts the fake Steam's test CA.
import { runWithTestCa } from '../fake-steam/run-with-test-ca.js';

// DEBUG turns on steam-session's own debug output (the `debug` package reads it at start-up),
// which would print Steam's poll replies, tokens and all, if the adapter let it.
runWithTestCa(new URL('./secrets.cases.ts', import.meta.url), { DEBUG: 'steam-session:*' });

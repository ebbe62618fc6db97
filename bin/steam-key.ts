#!/usr/bin/env node
/**
 * steam-key: redeem Steam keys in batches from a web page — and a WebSocket
 * server written from RFC 6455 that you can read in an afternoon.
 */
import { UsageError } from '../lib/cli/args.js';
import { ECHO_USAGE, runEcho } from '../lib/cli/echo.js';
import { REDEEM_USAGE, runRedeem } from '../lib/cli/redeem.js';
import { runServe, SERVE_USAGE, type RealSteamFactory } from '../lib/cli/serve.js';
import { version } from '../lib/cli/version.js';

/**
 * The real Steam (lib/steam/steam-user-port.ts), loaded only when needed: steam-user takes
 * about a second of CPU and ~45 MB of heap, which echo, --help and `redeem --demo` need not pay.
 */
const realSteam: RealSteamFactory = async (options) => {
  const { createSteamUserPort } = await import('../lib/steam/steam-user-port.js');
  return () => createSteamUserPort(options);
};

type Command = { run: (argv: string[]) => Promise<number>; usage: string; summary: string };

const COMMANDS: Record<string, Command> = {
  // It exits when done: after a shutdown deadline, a connection or steam-user client may still hold the process.
  serve: { run: async (argv) => process.exit(await runServe(argv, { realSteam })), usage: SERVE_USAGE, summary: 'the redeem service (default; --demo for a simulated Steam)' },
  redeem: { run: (argv) => runRedeem(argv, { realSteam: async () => realSteam }), usage: REDEEM_USAGE, summary: 'redeem the keys in a file or stdin from the terminal (--demo for a simulated Steam)' },
  echo: { run: runEcho, usage: ECHO_USAGE, summary: 'a WebSocket echo server (for fuzzers, benchmarks, learning)' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: steam-key <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nsteam-key <command> --help shows a command's flags.  steam-key --version prints the version.`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    console.log(version());
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(usage());
    return 0;
  }
  const name = first === undefined || first.startsWith('-') ? 'serve' : first;
  const command = COMMANDS[name];
  if (!command) {
    console.error(`steam-key: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const args = name === first ? rest : argv;
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`steam-key ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));

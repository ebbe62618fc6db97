#!/usr/bin/env node
/**
 * steam-key: redeem Steam keys in batches from a web page — and a WebSocket
 * server written from RFC 6455 that you can read in an afternoon.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/cli/args.js';
import { ECHO_USAGE, runEcho } from '../lib/cli/echo.js';
import { runServe, SERVE_USAGE } from '../lib/cli/serve.js';

type Command = { run: (argv: string[]) => Promise<number>; usage: string; summary: string };

const COMMANDS: Record<string, Command> = {
  serve: { run: runServeWithSteam, usage: SERVE_USAGE, summary: 'the redeem service (default; --demo for a simulated Steam)' },
  echo: { run: runEcho, usage: ECHO_USAGE, summary: 'a WebSocket echo server (for fuzzers, benchmarks, learning)' },
};

/**
 * The real Steam: one steam-user client per sign-in (lib/steam/steam-user-port.ts).
 * Loaded here, not at the top: steam-user and its dependencies are ~45 MB of
 * heap that `steam-key echo` has no use for.
 */
async function runServeWithSteam(argv: string[]): Promise<number> {
  const { createSteamUserPort } = await import('../lib/steam/steam-user-port.js');
  return runServe(argv, { realSteam: (options) => () => createSteamUserPort(options) });
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: steam-key <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nsteam-key <command> --help shows a command's flags.  steam-key --version prints the version.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
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

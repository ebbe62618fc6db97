#!/usr/bin/env node
/**
 * steam-key: redeem Steam keys in batches from a web page — and a WebSocket
 * server written from RFC 6455 that you can read in an afternoon.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/cli/args.js';
import { ECHO_USAGE, runEcho } from '../lib/cli/echo.js';
import { REDEEM_USAGE, runRedeem } from '../lib/cli/redeem.js';
import { runServe, SERVE_USAGE, type RealSteamFactory } from '../lib/cli/serve.js';
import type { SteamPort } from '../lib/steam/port.js';
import type * as SteamUserPortModule from '../lib/steam/steam-user-port.js';

/**
 * steam-user takes about a second of CPU to load: only what signs in to the
 * real Steam loads it — serve in main, redeem once it has keys and a password
 * — so `echo`, `--help`, usage errors and `redeem --demo` start at once.
 */
const STEAM_COMMANDS = new Set(['serve']);
let steamUserPort: typeof SteamUserPortModule | null = null;
function createSteamUserPort(options: SteamUserPortModule.SteamUserPortOptions): SteamPort {
  if (!steamUserPort) throw new Error('steam-user was not loaded for this command');
  return steamUserPort.createSteamUserPort(options);
}
async function loadRealSteam(): Promise<RealSteamFactory> {
  steamUserPort ??= await import('../lib/steam/steam-user-port.js');
  return (options) => () => createSteamUserPort(options);
}

type Command = { run: (argv: string[]) => Promise<number>; usage: string; summary: string };

const COMMANDS: Record<string, Command> = {
  // The real Steam: one steam-user client per sign-in (lib/steam/steam-user-port.ts).
  serve: { run: (argv) => runServe(argv, { realSteam: (options) => () => createSteamUserPort(options) }), usage: SERVE_USAGE, summary: 'the redeem service (default; --demo for a simulated Steam)' },
  redeem: { run: (argv) => runRedeem(argv, { realSteam: loadRealSteam }), usage: REDEEM_USAGE, summary: 'redeem the keys in a file or stdin from the terminal (--demo for a simulated Steam)' },
  echo: { run: runEcho, usage: ECHO_USAGE, summary: 'a WebSocket echo server (for fuzzers, benchmarks, learning)' },
};

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
  if (STEAM_COMMANDS.has(name)) steamUserPort = await import('../lib/steam/steam-user-port.js');
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

/**
 * Flag parsing shared by the subcommands: node:util's parseArgs, with every
 * mistake turned into a UsageError (printed with the command's usage, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    // With positionals allowed, node:util adds advice on file names that start with '-'
    // (ending in an unbalanced quote) to every unknown flag, which is nearly always a typo.
    const error = err as Error & { code?: string };
    const message = error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? error.message.replace(/\. To specify a positional argument.*$/s, '') : error.message;
    throw new UsageError(message);
  }
}

/**
 * Where a value came from, for error messages: a flag's name ("port", shown
 * as --port) or an environment variable ({ env: 'STEAM_KEY_PORT' }).
 */
export type Source = string | { env: string };

export function sourceName(source: Source): string {
  return typeof source === 'string' ? `--${source}` : source.env;
}

/**
 * A setting from its flag, else from its environment variable (flags beat
 * the environment; an empty variable counts as unset).
 */
export function flagOrEnv(flag: string, flagValue: string | undefined, env: NodeJS.ProcessEnv, variable: string): { source: Source; value: string | undefined } {
  if (flagValue !== undefined) return { source: flag, value: flagValue };
  const value = env[variable];
  return { source: { env: variable }, value: value === '' ? undefined : value };
}

/** A yes/no environment variable: 1/true/yes or 0/false/no (any case); unset or empty is undefined. */
export function envBoolean(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const value = env[variable]?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  throw new UsageError(`${variable} must be 1, true, yes or 0, false, no, got '${env[variable]}'`);
}

/** A flag's value as an integer within [min, max]; `undefined` stays undefined. */
export function intFlag(name: Source, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${sourceName(name)} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/**
 * A duration flag with a unit — "500ms", "5s", "60m", "1h" — in milliseconds,
 * within [minMs, maxMs]. A unit is required (is "60" seconds or minutes?),
 * except for 0.
 */
export function durationFlag(name: Source, value: string | undefined, minMs: number, maxMs: number): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match && (match[2] ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number(match[1]) === 0 ? 0 : NaN);
  if (ms === null || !Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) {
    throw new UsageError(
      `${sourceName(name)} must be a duration with a unit (500ms, 5s, 60m, 1h) from ${formatDuration(minMs)} to ${formatDuration(maxMs)}, got '${value}'`,
    );
  }
  return ms;
}

/**
 * A rate flag, "COUNT/DURATION" — "10/10m": at most 10 at once, one more
 * back every minute — with the count within [1, maxCount] and the duration
 * within [minMs, maxMs].
 */
export function rateFlag(name: Source, value: string | undefined, maxCount: number, minMs: number, maxMs: number): { count: number; perMs: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\S+)$/.exec(value.trim());
  const count = match ? Number(match[1]) : NaN;
  const bad = () =>
    new UsageError(
      `${sourceName(name)} must be a count per duration such as 10/10m (1 to ${maxCount} per ${formatDuration(minMs)} to ${formatDuration(maxMs)}), got '${value}'`,
    );
  if (!match || !Number.isSafeInteger(count) || count < 1 || count > maxCount) throw bad();
  let perMs: number | undefined;
  try {
    perMs = durationFlag(name, match[2], minMs, maxMs);
  } catch {
    throw bad();
  }
  return { count, perMs: perMs! };
}

/** A list flag's values (repeated, or comma lists) joined, else its variable's (a comma list): trimmed, empty items dropped. */
export function listFlagOrEnv(flag: string, flagValues: string[] | undefined, env: NodeJS.ProcessEnv, variable: string): { source: Source; items: string[] } {
  const { source, value } = flagOrEnv(flag, flagValues?.join(','), env, variable);
  return { source, items: (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '') };
}

/** 90000 → "90s", 3600000 → "1h": the largest unit that divides exactly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

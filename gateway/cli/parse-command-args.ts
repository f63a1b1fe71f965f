/**
 * Argument parsing shared by every CLI command: Node's `parseArgs`, strict, so an unknown option
 * or a missing or extra argument is bad input, reported as one line (exit code 2).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** Bad input: the command prints `gateway: <message>` and exits with code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses `args` against `options`, expecting exactly the positional arguments named in
 * `positionals` (e.g. `['CLIENT_ID']`).
 */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  positionals: readonly string[] = [],
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true as const, allowPositionals: true as const });
  } catch (error) {
    // Node's message goes on with advice about `--` that does not fit one line.
    throw new UsageError((error as Error).message.split('. ')[0] ?? 'bad arguments');
  }
  const missing = positionals[parsed.positionals.length];
  if (missing !== undefined) throw new UsageError(`expected one ${missing}`);
  const extra = parsed.positionals[positionals.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return parsed;
}

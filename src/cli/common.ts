// Shared pieces of the CLI: the error boundary (one clear line, non-zero exit, no stack trace for
// user errors), JSON output, flag parsing. (Loading a checkpoint: src/model/load.ts.)
import { createColors } from "picocolors";
import { RecapError, isRecapError } from "../util/errors.ts";

/** Wraps a command action: user errors print as one line and exit 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      reportError(e);
      process.exitCode = 1;
    }
  };
}

/**
 * Colour only for a person at a terminal: stderr must be a TTY, NO_COLOR turns it off and
 * FORCE_COLOR on. (picocolors' own default also colours whenever CI is set, which would put escape
 * codes into logs and into every "error: …" line that scripts read.)
 */
function stderrColors(): ReturnType<typeof createColors> {
  const env = process.env;
  const force = !!env["FORCE_COLOR"] && env["FORCE_COLOR"] !== "0" && env["FORCE_COLOR"] !== "false";
  const enabled = !env["NO_COLOR"] && (force || (process.stderr.isTTY === true && env["TERM"] !== "dumb"));
  return createColors(enabled);
}

export function reportError(e: unknown): void {
  const pc = stderrColors();
  if (isRecapError(e)) {
    process.stderr.write(`${pc.red("error:")} ${e.message}${e.hint ? ` (${e.hint})` : ""}\n`);
  } else if (e instanceof Error && !process.env["RECAP_DEBUG"]) {
    process.stderr.write(`${pc.red("error:")} ${e.message} (set RECAP_DEBUG=1 for the stack trace)\n`);
  } else {
    process.stderr.write(`${pc.red("error:")} ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
}

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Parses an integer flag, with a clear error naming the flag. */
export function intFlag(v: string, flag: string, min = Number.MIN_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new RecapError(`${flag} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ""}, got "${v}"`);
  return n;
}

/** Parses a number flag, with a clear error naming the flag. */
export function numFlag(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new RecapError(`${flag} must be a number, got "${v}"`);
  return n;
}

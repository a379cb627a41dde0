// Config files: YAML or JSON, validated by a zod schema; every error names the field and the
// file. The resolved config (defaults filled in) is what a run prints at start and records.
import * as fsp from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { RecapError } from "./errors.ts";
import { redactSecrets } from "./redact.ts";
import { firstZodIssue, zodIssues } from "./zod_issues.ts";

/** Reads FILE (.yaml/.yml/.json) and validates it against `schema`. */
export async function loadConfigFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    throw new RecapError(
      `cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "check the path",
    );
  }
  let raw: unknown;
  try {
    raw = file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new RecapError(
      `config ${file} is not valid ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return validateConfig(raw ?? {}, schema, file);
}

/** Validates an object against `schema`, with one error line listing every bad field. */
export function validateConfig<S extends z.ZodType>(raw: unknown, schema: S, where: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const msg = zodIssues(r.error);
    throw new RecapError(
      `invalid config ${where}: ${msg}`,
      "fix the named fields (see `--help` for the documented knobs)",
    );
  }
  return r.data;
}

/** Prints the resolved config on stderr, one `key: value` per line. */
export function printResolvedConfig(title: string, config: unknown): void {
  if (process.env["RECAP_QUIET"] === "1") return;
  process.stderr.write(`${title}\n${JSON.stringify(redactSecrets(config), null, 2)}\n`);
}

/** Reads an overrides file given by a flag (JSON or YAML; empty → {}), naming the flag on error. */
export async function readOverridesFile(file: string | undefined, flag = "--config"): Promise<unknown> {
  if (file === undefined) return {};
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (e) {
    throw new RecapError(
      `cannot read ${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "check the path",
    );
  }
  try {
    return parseYaml(text) ?? {};
  } catch (e) {
    throw new RecapError(`${flag} ${file} is not valid JSON or YAML: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Parses `raw` with `schema`; the first problem becomes a one-line RecapError naming the field. */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const { issue, path: field } = firstZodIssue(r.error, "(top level)");
  throw new RecapError(
    `${what}: field ${field}: ${issue.message}`,
    "fix that field (see the documented defaults in the schema)",
  );
}

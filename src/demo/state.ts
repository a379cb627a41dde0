// The demo's stage ledger (OUT/demo_state.json): which stages finished, with the fingerprint of
// what they were run with and how long they took. A re-run skips a finished stage whose
// fingerprint matches; a stage that was interrupted resumes through its own runner (SFT and RL
// from their checkpoints, evaluation from results.jsonl). A finished stage whose inputs changed
// (another config) is refused rather than silently mixed with new results.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { RecapError } from "../util/errors.ts";

export interface StageRecord {
  fingerprint: string;
  seconds: number;
  finished_at: string;
  /** What the stage reports (paths, step counts), for the summary. */
  result: Record<string, unknown>;
}

export interface DemoState {
  version: 1;
  stages: Record<string, StageRecord>;
}

export const STATE_FILE = "demo_state.json";

/** A short stable hash of any JSON value (keys sorted). */
export function fingerprint(value: unknown): string {
  return createHash("sha256").update(stableJson(value)).digest("hex").slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function readState(out: string): DemoState {
  const file = path.join(out, STATE_FILE);
  if (!fs.existsSync(file)) return { version: 1, stages: {} };
  try {
    const s = JSON.parse(fs.readFileSync(file, "utf8")) as DemoState;
    if (s.version !== 1 || typeof s.stages !== "object" || s.stages === null) throw new Error("unknown layout");
    return s;
  } catch (e) {
    throw new RecapError(
      `${file} is not a demo state file (${(e as Error).message})`,
      "choose another --out, or delete the file to redo every stage",
    );
  }
}

export async function writeState(out: string, s: DemoState): Promise<void> {
  await writeFileAtomic(path.join(out, STATE_FILE), JSON.stringify(s, null, 2) + "\n");
}

/** The record of a finished stage with this fingerprint; a mismatch is an error naming the fix. */
export function finished(s: DemoState, stage: string, fp: string, out: string): StageRecord | undefined {
  const r = s.stages[stage];
  if (!r) return undefined;
  if (r.fingerprint !== fp)
    throw new RecapError(
      `${out} holds a finished "${stage}" stage made with other settings`,
      "re-run with the same preset and config, or choose another --out",
    );
  return r;
}

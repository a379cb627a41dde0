// results.jsonl: one line per (suite, item, attack), appended and fsynced as each item finishes,
// so a run killed at any point loses at most the items in flight. Resuming reads the file back:
// a torn last line (no newline, or not JSON) is dropped, lines recording an error are dropped (they
// are redone), and a key seen twice keeps its first good line; if anything was dropped the file is
// rewritten atomically before new lines are appended. So every item ends with exactly one line.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { RecapError } from "../util/errors.ts";
import type { GradeResult } from "../graders/types.ts";
import type { Reflection } from "../lm/thinking.ts";
import type { Domain } from "./types.ts";

export interface SampleRecord {
  /** The assistant turn as a reader sees it: `<think>` + injected thinking (closed for a hijack) +
   *  the generated text. */
  completion: string;
  /** The generated text of the last generation. */
  generated: string;
  /** The final response (after `</think>`), what the grader scores. */
  response: string;
  completion_tokens: number;
  cot_tokens: number;
  response_tokens: number;
  /** The CoT / response split was estimated from character shares. */
  approx_tokens?: boolean;
  finish_reason: string;
  /** Reflection markers in the generated thinking only. */
  reflection: Reflection;
  grade?: GradeResult;
  /** The grade of the thinking before the first marker (the "first draft"), with --flips. */
  draft_grade?: GradeResult;
}

export interface ResultLine {
  key: string;
  suite: string;
  id: string;
  attack: string;
  domain: Domain | null;
  /** The user message as sent (after any jailbreak wrapper). */
  prompt: string;
  /** The injected thinking of the last generation (no tags), if any. */
  prefill?: string;
  /** The injected thinking was closed (hijack). */
  closed?: boolean;
  /** Generations made per sample (IPR: resets + 1). */
  generations: number;
  samples: SampleRecord[];
  /** The item failed (provider or grader); such lines are redone on resume. */
  error?: string;
  /** The attack does not apply to this row (e.g. no prefill material); kept on resume. */
  skipped?: string;
}

/** The results key of an item. */
export function resultKey(suite: string, id: string, attack: string): string {
  return JSON.stringify([suite, id, attack]);
}

/** Reads results.jsonl for resuming: good lines by key (see the module comment). */
export function loadForResume(file: string): { lines: ResultLine[]; dropped: number } {
  if (!fs.existsSync(file)) return { lines: [], dropped: 0 };
  const text = fs.readFileSync(file, "utf8");
  const parts = text.split("\n");
  const last = parts.pop(); // "" when the file ends with a newline, else a torn line
  let dropped = last !== undefined && last !== "" ? 1 : 0;
  const byKey = new Map<string, ResultLine>();
  for (const p of parts) {
    if (p.trim() === "") continue;
    let line: ResultLine;
    try {
      line = JSON.parse(p) as ResultLine;
    } catch {
      dropped++;
      continue;
    }
    if (typeof line.key !== "string" || line.error !== undefined || byKey.has(line.key)) {
      dropped++;
      continue;
    }
    byKey.set(line.key, line);
  }
  return { lines: [...byKey.values()], dropped };
}

/** Reads every parseable line (for summaries and reports; errors included). */
export function readResults(file: string): ResultLine[] {
  if (!fs.existsSync(file)) throw new RecapError(`no results file ${file}`, "run `recap eval` into that folder first");
  const out: ResultLine[] = [];
  for (const p of fs.readFileSync(file, "utf8").split("\n")) {
    if (p.trim() === "") continue;
    try {
      out.push(JSON.parse(p) as ResultLine);
    } catch {
      // a torn last line of an interrupted run
    }
  }
  return out;
}

/** An append-only writer that fsyncs every line. */
export class ResultsWriter {
  private fd: number;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Opens `file` for appending after rewriting it to `keep` when lines were dropped. */
  static async open(file: string, keep: ResultLine[], rewrite: boolean): Promise<ResultsWriter> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (rewrite) await writeFileAtomic(file, keep.map((l) => JSON.stringify(l) + "\n").join(""));
    return new ResultsWriter(fs.openSync(file, "a"));
  }

  append(line: ResultLine): void {
    fs.writeSync(this.fd, JSON.stringify(line) + "\n");
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

// The evaluation runner: suites x attacks through a provider and a grader into results.jsonl and
// summary.json in the output folder. Items go to the provider in chunks of its batch size; each
// item's line is appended and fsynced as soon as its chunk is done (results.ts), so a run killed
// at any moment resumes with the same command: finished items are skipped, torn or failed lines
// redone, and every item ends with exactly one line. run.json records what the results depend on
// (provider, grader, samples, sampling); resuming with different values is refused.
//
// Samples: a single-generation attack asks the provider for n samples of one request; a
// multi-generation attack (IPR) runs n independent trajectories. Each request carries its own
// seed, a hash of the base seed, the item key, the trajectory and the generation, so endpoint
// runs are reproducible item by item; the embedded sampler also depends on batch composition
// (see providers/embedded.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { RecapError, isRecapError } from "../util/errors.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { progressBar } from "../util/progress.ts";
import type { Attack, AttackCase } from "./attacks/index.ts";
import { cleanThinking } from "./attacks/prefill.ts";
import type { GradeResult, GradeRow, Grader } from "../graders/types.ts";
import type { Summary } from "./metrics.ts";
import { summarize } from "./metrics.ts";
import { mapPool } from "../lm/providers/http.ts";
import type { ResultLine, SampleRecord } from "./results.ts";
import { ResultsWriter, loadForResume, readResults, resultKey } from "./results.ts";
import type { LoadedSuite } from "./suites.ts";
import { rowDomain } from "./suites.ts";
import { findReflection, splitThinking } from "../lm/thinking.ts";
import type { Domain, SuiteRow } from "./types.ts";
import type { Completion, GenRequest, Provider, SamplingParams } from "../lm/types.ts";

export interface EvalOptions {
  provider: Provider;
  /** The grader; absent: generations only (tokens and reflection still measured). */
  grader?: Grader;
  suites: LoadedSuite[];
  attacks: Attack[];
  /** Samples per item. */
  n: number;
  /** Sampling; `seed` is the base seed. */
  params: SamplingParams;
  /** Only the first N rows of every suite. */
  limit?: number;
  outDir: string;
  /** Grade the first draft of reflected samples too (verdict flips). */
  flips?: boolean;
  /** Grader calls in flight. Default 8. */
  graderConcurrency?: number;
  /** What must match for a resume (recorded in run.json beside provider, grader, n, params). */
  identity?: Record<string, unknown>;
  /** Only these suite x attack cells (default: every suite under every attack). */
  only?: (suite: string, attackId: string) => boolean;
  /** Test hook: throw after writing this many lines (simulates a crash mid-run). */
  failAfter?: number;
  /** Called once the run is checked and about to start (a one-line description). */
  onStart?: (line: string) => void;
}

export interface RunSummary extends Summary {
  run: RunInfo;
}

interface RunInfo {
  identity: Record<string, unknown>;
  suites: string[];
  attacks: string[];
}

interface Item {
  key: string;
  suite: string;
  row: SuiteRow;
  attack: Attack;
  domain: Domain | null;
}

/** A 31-bit seed from the base seed and a label (FNV-1a). */
export function seedFor(base: number, label: string): number {
  let h = 0x811c9dc5 ^ (base >>> 0);
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

function checkRunInfo(file: string, info: RunInfo): RunInfo {
  if (!fs.existsSync(file)) return info;
  const old = JSON.parse(fs.readFileSync(file, "utf8")) as RunInfo;
  const a = JSON.stringify(old.identity),
    b = JSON.stringify(info.identity);
  if (a !== b)
    throw new RecapError(
      `${path.dirname(file)} holds a run with other settings (${a}), not ${b}`,
      "resume with the same model, grader, --n and sampling flags, or choose another --out",
    );
  const union = (x: string[], y: string[]) => [...new Set([...x, ...y])];
  return { identity: info.identity, suites: union(old.suites, info.suites), attacks: union(old.attacks, info.attacks) };
}

/** Runs (or resumes) an evaluation and writes results.jsonl and summary.json; returns the summary. */
export async function runEval(o: EvalOptions): Promise<RunSummary> {
  if (o.flips && o.grader?.id === "world")
    throw new RecapError(
      "--flips grades a thinking draft as a response, which the world judge cannot do",
      "the world grader records the thinking's own verdicts in each grade's `verdicts`; drop --flips",
    );
  checkOutDir(o.outDir, "eval");
  fs.mkdirSync(o.outDir, { recursive: true });
  const identity = { provider: o.provider.id(), grader: o.grader?.id ?? null, n: o.n, params: o.params, ...o.identity };
  const info = checkRunInfo(path.join(o.outDir, "run.json"), {
    identity,
    suites: o.suites.map((s) => s.name),
    attacks: o.attacks.map((a) => a.id),
  });
  await writeFileAtomic(path.join(o.outDir, "run.json"), JSON.stringify(info, null, 2) + "\n");
  const resultsFile = path.join(o.outDir, "results.jsonl");
  const { lines: kept, dropped } = loadForResume(resultsFile);
  const done = new Set(kept.map((l) => l.key));
  const items: Item[] = [];
  for (const s of o.suites)
    for (const row of s.rows.slice(0, o.limit ?? s.rows.length))
      for (const attack of o.attacks)
        if (!o.only || o.only(s.name, attack.id))
          items.push({
            key: resultKey(s.name, row.id, attack.id),
            suite: s.name,
            row,
            attack,
            domain: rowDomain(row, s.name) ?? null,
          });
  const pending = items.filter((it) => !done.has(it.key));
  preflight(o, items);
  o.onStart?.(
    `${o.provider.id()} | grader ${o.grader?.id ?? "none"} | ${o.suites.map((s) => s.name).join(", ")} x ${o.attacks.map((a) => a.id).join(", ")} | ${pending.length} of ${items.length} items to do`,
  );
  const writer = await ResultsWriter.open(resultsFile, kept, dropped > 0);
  const bar = progressBar("eval", items.length, ["errors"]);
  let written = 0,
    errors = 0;
  try {
    bar.update(items.length - pending.length, { errors });
    const size = Math.max(1, o.provider.batchSize());
    for (let s = 0; s < pending.length; s += size) {
      for (const line of await runChunk(o, pending.slice(s, s + size))) {
        writer.append(line);
        written++;
        if (line.error !== undefined) errors++;
        if (o.failAfter !== undefined && written >= o.failAfter)
          throw new Error(`injected failure after ${written} items`);
      }
      bar.update(items.length - pending.length + written, { errors }); // once per chunk: the ETA reads the rate between updates
    }
  } finally {
    bar.stop();
    writer.close();
  }
  const summary: RunSummary = { run: info, ...summarize(readResults(resultsFile), o.params.seed) };
  await writeFileAtomic(path.join(o.outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

/** Lets the provider refuse, before any work, a request it cannot express (one per suite x attack). */
function preflight(o: EvalOptions, items: Item[]): void {
  if (!o.provider.check) return;
  const seen = new Set<string>();
  for (const it of items) {
    const k = JSON.stringify([it.suite, it.attack.id]);
    if (seen.has(k)) continue;
    const step = it.attack.first(it.row);
    if ("skip" in step) continue;
    seen.add(k);
    o.provider.check({
      key: it.key,
      messages: step.messages,
      params: o.params,
      n: 1,
      ...(step.thinking !== undefined ? { thinking: step.thinking, closeThinking: step.closeThinking ?? false } : {}),
    });
  }
}

interface Track {
  item: number;
  t: number;
  n: number;
  c: AttackCase;
  final?: Completion[];
  error?: string;
}

/** Generates, grades and builds the lines of one chunk of items. */
async function runChunk(o: EvalOptions, items: Item[]): Promise<ResultLine[]> {
  const lines: (ResultLine | undefined)[] = items.map(() => undefined);
  const tracks: Track[] = [];
  items.forEach((it, i) => {
    const step = it.attack.first(it.row);
    if ("skip" in step) lines[i] = baseLine(it, it.row.prompt, undefined, 0, { skipped: step.skip });
    else if (it.attack.rounds === 1) tracks.push({ item: i, t: 0, n: o.n, c: step });
    else for (let t = 0; t < o.n; t++) tracks.push({ item: i, t, n: 1, c: step });
  });
  const maxRounds = Math.max(0, ...tracks.map((tr) => items[tr.item]!.attack.rounds));
  for (let r = 0; r < maxRounds; r++) {
    const active = tracks.filter((tr) => tr.error === undefined && items[tr.item]!.attack.rounds > r);
    const reqs: GenRequest[] = active.map((tr) => ({
      key: `${items[tr.item]!.key}#${tr.t}`,
      messages: tr.c.messages,
      params: { ...o.params, seed: seedFor(o.params.seed, `${items[tr.item]!.key}#${tr.t}#${r}`) },
      n: tr.n,
      ...(tr.c.thinking !== undefined ? { thinking: tr.c.thinking, closeThinking: tr.c.closeThinking ?? false } : {}),
    }));
    const res = await o.provider.generate(reqs);
    active.forEach((tr, k) => {
      const g = res[k]!,
        it = items[tr.item]!;
      if (g.error !== undefined || g.completions.length === 0) tr.error = g.error ?? "no completion";
      else if (r === it.attack.rounds - 1) tr.final = g.completions;
      else tr.c = it.attack.next(it.row, tr.c, g.completions[0]!.text, r + 1);
    });
  }
  await Promise.all(
    items.map(async (it, i) => {
      if (lines[i]) return;
      const mine = tracks.filter((tr) => tr.item === i);
      const failed = mine.find((tr) => tr.error !== undefined);
      const c = mine[0]!.c;
      const userMsg = c.messages[c.messages.length - 1]?.content ?? it.row.prompt;
      if (failed) {
        lines[i] = baseLine(it, userMsg, c, 0, { error: failed.error! });
        return;
      }
      const samples = mine.flatMap((tr) => tr.final!.map((comp) => sampleOf(tr.c, comp)));
      const line = baseLine(it, userMsg, c, it.attack.rounds, {});
      line.samples = samples;
      const gradeError = await gradeSamples(o, it, samples);
      if (gradeError !== undefined) line.error = gradeError;
      lines[i] = line;
    }),
  );
  return lines.map((l) => l!);
}

function baseLine(
  it: Item,
  prompt: string,
  c: AttackCase | undefined,
  generations: number,
  extra: Partial<ResultLine>,
): ResultLine {
  return {
    key: it.key,
    suite: it.suite,
    id: it.row.id,
    attack: it.attack.id,
    domain: it.domain,
    prompt,
    ...(c?.thinking !== undefined ? { prefill: c.thinking, closed: c.closeThinking ?? false } : {}),
    generations,
    samples: [],
    ...extra,
  };
}

/** A sample record from the case and the last generation's completion. */
export function sampleOf(c: AttackCase, comp: Completion): SampleRecord {
  const injected = c.thinking !== undefined;
  const closed = injected && (c.closeThinking ?? false);
  const display = injected ? `<think>${c.thinking}${closed ? "</think>" : ""}${comp.text}` : comp.text;
  const open = comp.cotTokens > 0 && comp.responseTokens === 0;
  const response = splitThinking(display, injected ? !closed : open).response;
  const genCot = closed ? "" : injected ? cleanThinking(comp.text) : splitThinking(comp.text, open).cot;
  return {
    completion: display,
    generated: comp.text,
    response,
    completion_tokens: comp.completionTokens,
    cot_tokens: comp.cotTokens,
    response_tokens: comp.responseTokens,
    ...(comp.approxTokens ? { approx_tokens: true } : {}),
    finish_reason: comp.finishReason,
    reflection: findReflection(genCot),
  };
}

function gradeRow(it: Item, completion: string, full: string): GradeRow {
  return {
    ...it.row,
    id: it.row.id,
    prompt: it.row.prompt,
    completion,
    full_completion: full,
    suite: it.suite,
    attack: it.attack.id,
  };
}

/** Grades every sample in place; returns an error message when a grade failed. */
async function gradeSamples(o: EvalOptions, it: Item, samples: SampleRecord[]): Promise<string | undefined> {
  const grader = o.grader;
  if (!grader) return undefined;
  const jobs: { s: SampleRecord; draft: boolean }[] = samples.map((s) => ({ s, draft: false }));
  if (o.flips) for (const s of samples) if (s.reflection.reflected) jobs.push({ s, draft: true });
  let error: string | undefined;
  await mapPool(jobs, o.graderConcurrency ?? 8, async ({ s, draft }) => {
    try {
      const text = draft ? draftOf(s) : s.response;
      const g: GradeResult = await grader.grade(gradeRow(it, text, draft ? text : s.completion));
      if (draft) s.draft_grade = g;
      else s.grade = g;
    } catch (e) {
      if (isRecapError(e)) throw e; // a configuration problem (wrong grader for these rows): stop
      error ??= `grading: ${(e as Error).message}`;
    }
  });
  return error;
}

/** The thinking before the first reflection marker (injected part included): the first draft. */
function draftOf(s: SampleRecord): string {
  const injected = s.completion.slice(0, s.completion.length - s.generated.length).replace(/^<think>/, "");
  const at = s.reflection.first?.at ?? 0;
  return (injected + cleanThinking(s.generated).slice(0, at)).trim();
}

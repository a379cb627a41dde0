// Runs carried from an earlier record (`recap study --import STUDY_JSON`): the study.json an
// earlier run of the same study wrote holds every run's value of every metric and training
// diagnostic, and each base's reference columns and guard calibration. When a study's folder is
// lost (a session ended, a disk was wiped), its finished runs need not be run again: the record
// stands in for them, each imported run is named in the report, and the runs it lacks are run
// as usual. A run present both in the folder and in the record is taken from the folder.
//
// What the record cannot give back: the evaluation folders; and the per-step training curves of a
// record written before study.json kept them (those curves are drawn from the folder's runs only).
import * as fs from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { RecapError } from "../util/errors.ts";
import { type StudyConfig, armBases, armDemoConfig, studyBases, studyDemoConfig } from "./config.ts";
import type { BaseResult } from "./run.ts";

const perRunSchema = z.array(z.object({ base: z.string(), seed: z.number().int(), value: z.number().nullable() }));
const statsSchema = z.object({ per_run: perRunSchema });
const recordSchema = z.object({
  world: z.string(),
  bases: z.array(
    z.object({
      name: z.string(),
      world_seed: z.number().int(),
      source: z.string(),
      guard_calibration: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  reference: z.record(
    z.string(),
    z.object({
      base: z.record(z.string(), z.number().nullable()),
      sft: z.record(z.string(), z.number().nullable()),
    }),
  ),
  arms: z.record(
    z.string(),
    z.object({
      group_size: z.number(),
      steps: z.number(),
      overrides: z.object({
        preset: z.string(),
        rl: z.record(z.string(), z.unknown()),
        train: z.record(z.string(), z.unknown()),
        safety_reward: z.string(),
      }),
      runs: z.array(z.object({ base: z.string(), seed: z.number().int() })),
      metrics: z.record(z.string(), statsSchema),
      training: z.record(z.string(), statsSchema),
      /** Per-step training curves (records written before they were kept have none). */
      curves: z
        .record(
          z.string(),
          z.array(z.object({ base: z.string(), seed: z.number().int(), steps: z.array(z.number().nullable()) })),
        )
        .optional(),
    }),
  ),
});

/** One run of the record: its (base, seed), every metric's value and every diagnostic's. */
export interface ImportedRun {
  base: string;
  seed: number;
  metrics: Record<string, number | null>;
  training: Record<string, number | null>;
  /** Per training-curve metric, the value at each step ({} when the record kept no curves). */
  curves: Record<string, (number | null)[]>;
}

export interface ImportedRecord {
  /** The file, as given. */
  file: string;
  /** Per arm of the config that the record holds: its runs (only runs the config asks for). */
  arms: Record<string, ImportedRun[]>;
  /** Per base of the config that the record holds: what prepareBase would have measured. */
  bases: Record<string, BaseResult>;
  /** Arms of the record that the config has no more (not imported). */
  ignored: string[];
}

const valueAt = (stats: Record<string, { per_run: z.infer<typeof perRunSchema> }>, base: string, seed: number) =>
  Object.fromEntries(
    Object.entries(stats).map(([k, st]) => [
      k,
      st.per_run.find((r) => r.base === base && r.seed === seed)?.value ?? null,
    ]),
  );

/** Reads and checks a record against the study config: the same world, the same bases, and each
 *  imported arm with the settings it has now. Fails naming the first disagreement and the fix. */
export function loadImportedRecord(file: string, s: StudyConfig, worldVersion: string): ImportedRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new RecapError(
      `--import ${file}: cannot read it as JSON (${(e as Error).message})`,
      "pass the study.json an earlier `recap study` wrote (e.g. docs/study-v6/study.json)",
    );
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    const at = parsed.error.issues[0];
    throw new RecapError(
      `--import ${file}: not a study.json (${at ? `${at.path.join(".")}: ${at.message}` : "bad shape"})`,
      "pass the study.json an earlier `recap study` wrote, unchanged",
    );
  }
  const r = parsed.data;
  const fix = "drop --import, or import a record this study config wrote";
  if (r.world !== worldVersion)
    throw new RecapError(`--import ${file}: its runs are on ${r.world}, this study is on ${worldVersion}`, fix);
  const bases = new Map(studyBases(s).map((b) => [b.name, b]));
  for (const b of r.bases) {
    const here = bases.get(b.name);
    if (here && here.world_seed !== b.world_seed)
      throw new RecapError(
        `--import ${file}: base ${b.name} has world seed ${b.world_seed} there and ${here.world_seed} in the config`,
        fix,
      );
  }
  const demo = studyDemoConfig(s);
  const arms: ImportedRecord["arms"] = {};
  const ignored: string[] = [];
  for (const [name, a] of Object.entries(r.arms)) {
    const arm = s.arms[name];
    if (!arm) {
      ignored.push(name);
      continue;
    }
    const c = armDemoConfig(demo, arm, s.seeds[0] ?? 0);
    const now = {
      group_size: c.rl.group_size,
      steps: c.rl.steps,
      overrides: {
        preset: arm.preset,
        rl: arm.rl,
        train: arm.train,
        safety_reward: arm.safety_reward ?? s.safety_reward,
      },
    };
    const then = { group_size: a.group_size, steps: a.steps, overrides: a.overrides };
    if (!isDeepStrictEqual(now, then))
      throw new RecapError(
        `--import ${file}: arm ${name} was run with other settings (${JSON.stringify(then)}; the config now: ${JSON.stringify(now)})`,
        `${fix}; or rename the changed arm so that it runs afresh`,
      );
    const wanted = armBases(s, arm).map((b) => b.name);
    arms[name] = a.runs
      .filter((run) => wanted.includes(run.base) && s.seeds.includes(run.seed))
      .map((run) => ({
        base: run.base,
        seed: run.seed,
        metrics: valueAt(a.metrics, run.base, run.seed),
        training: valueAt(a.training, run.base, run.seed),
        curves: Object.fromEntries(
          Object.entries(a.curves ?? {}).map(([k, rs]) => [
            k,
            rs.find((q) => q.base === run.base && q.seed === run.seed)?.steps ?? [],
          ]),
        ),
      }));
  }
  const out: ImportedRecord["bases"] = {};
  for (const b of r.bases) {
    const ref = r.reference[b.name];
    if (!ref || !bases.has(b.name)) continue;
    out[b.name] = {
      name: b.name,
      world_seed: b.world_seed,
      source: b.source,
      base: ref.base,
      sft: ref.sft,
      guard: b.guard_calibration,
    };
  }
  return { file, arms, bases: out, ignored };
}

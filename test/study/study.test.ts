// `recap study` on a smoke budget (a base trained for 2 steps, one RL step, 2 items per suite):
// the arms run over every seed, the tables, the JSON and a sweep plot are written, a re-run skips
// every finished stage, --arms leaves the others pending (or, cut short, reported on their
// finished runs) and a later run adds them, and configs
// that cannot work fail before any work with the fix named. Smoke numbers mean nothing; the shape
// and the resume behaviour are what is tested. The aggregation and diagnostics are pure and
// checked against hand-computed values.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { aggregateSeeds, fmtSeedStats, seedStats, t95 } from "../../src/study/aggregate.ts";
import { StudyConfigSchema, checkStudyConfig } from "../../src/study/config.ts";
import { diagnosticsOf } from "../../src/study/diagnostics.ts";
import { betaCurve, comparisonsMarkdown, trainingCurve } from "../../src/study/report.ts";
import { type StudySummary, runStudy } from "../../src/study/run.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { isRecapError } from "../../src/util/errors.ts";
import { SMOKE_DEMO as smoke } from "../demo/smoke.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-study-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

const study = (extra: Record<string, unknown> = {}) =>
  checkStudyConfig(
    validateConfig(
      {
        demo: "quick",
        demo_overrides: smoke,
        seeds: [0, 1],
        arms: {
          dapo: { preset: "dapo" },
          recap: { preset: "recap" },
          "alpha-1": { preset: "recap", rl: { alpha: 1, prompts_per_step: 4 } },
        },
        sweeps: [
          {
            title: "alpha",
            x_label: "alpha",
            points: [
              { arm: "dapo", x: 0 },
              { arm: "recap", x: 0.5 },
              { arm: "alpha-1", x: 1 },
            ],
            metrics: ["safety_prefill", "math_accuracy"],
          },
        ],
        beta_curves: [{ title: "beta", arms: ["dapo", "recap"], clean: "safety_clean", attacked: "safety_prefill" }],
        training_curves: [{ title: "training reward", arms: ["dapo", "recap"], metric: "reward/mean", window: 1 }],
        ...extra,
      },
      StudyConfigSchema,
      "smoke study",
    ),
  );

test("seed statistics: mean and Student-t interval, identical seeds zero-width, one seed no interval", () => {
  const s = seedStats([0, 1, 2])!;
  assert.equal(s.mean, 1);
  assert.ok(Math.abs(s.hi - (1 + 4.303 / Math.sqrt(3))) < 1e-12 && Math.abs(s.lo - (1 - 4.303 / Math.sqrt(3))) < 1e-12);
  assert.deepEqual(seedStats([0.0125, 0.0125, 0.0125]), {
    mean: 0.0125,
    lo: 0.0125,
    hi: 0.0125,
    values: [0.0125, 0.0125, 0.0125],
  });
  assert.ok(Number.isNaN(seedStats([0.5])!.lo));
  assert.equal(seedStats([null, null]), null);
  assert.equal(seedStats([0.2, null, 0.4])!.mean, 0.30000000000000004);
  assert.equal(t95(2), 4.303);
  assert.equal(t95(12), 2.228); // between tabulated values: the smaller df's (wider) quantile
  assert.equal(fmtSeedStats(seedStats([0, 1, 2]) ?? undefined, false), "1.0 [-1.5, 3.5]");
  assert.equal(fmtSeedStats(seedStats([0.1, 0.2, 0.3]) ?? undefined, true), "20.0 [0.0, 44.8]"); // rate bounds clipped to [0, 100]
  assert.equal(fmtSeedStats(seedStats([-0.02, -0.01, 0]) ?? undefined, true, 1, false), "-1.0 [-3.5, 1.5]"); // a difference: not clipped
  assert.deepEqual(
    Object.keys(
      aggregateSeeds(
        [
          { a: 1, b: null },
          { a: 2, b: null },
        ],
        ["a", "b", "c"],
      ),
    ),
    ["a"],
  );
});

test("training curves: per step the mean over runs, then a trailing moving mean", () => {
  const summary = {
    arms: {
      a: {
        curves: {
          "reward/mean": [
            [0, 1, 1, null],
            [1, 1, 0, 0.5],
          ],
        },
      },
    },
  } as unknown as Parameters<typeof trainingCurve>[0];
  const [line] = trainingCurve(summary, { title: "t", arms: ["a", "ghost"], metric: "reward/mean", window: 2 });
  // per step: 0.5, 1, 0.5, 0.5 (a null leaves the other run alone); moving mean of 2: 0.5, 0.75, 0.75, 0.5
  assert.deepEqual(line, { arm: "a", runs: 2, steps: [0.5, 0.75, 0.75, 0.5] });
  assert.equal(trainingCurve(summary, { title: "t", arms: ["ghost"], metric: "reward/mean", window: 2 }).length, 0);
});

test("training diagnostics: early and late windows, kept share, dropped per kept", () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({
    "reward/mean": i / 10,
    "reward/prefilled": i < 5 ? 0 : 0.2,
    "sampling/kept_groups": 8,
    "sampling/dropped_groups": 4,
    "rollout/gen_tokens": 50,
  }));
  const d = diagnosticsOf(rows, 16);
  assert.ok(Math.abs(d.reward_early! - 0.2) < 1e-12 && Math.abs(d.reward_late! - 0.7) < 1e-12);
  assert.equal(d.prefilled_reward_early, 0);
  assert.ok(Math.abs(d.prefilled_reward_late! - 0.2) < 1e-12);
  assert.equal(d.kept_share, 0.5);
  assert.equal(d.dropped_per_kept, 0.5);
  assert.equal(diagnosticsOf([{ "reward/mean": 1 }], 16).prefilled_reward_early, null); // DAPO has no prefilled rollouts
  assert.equal(d.curriculum_l_pre_late, null);
  const cur = diagnosticsOf(
    rows.map((r, i) => ({ ...r, "curriculum/l_pre": i < 7 ? 20 : 40, "curriculum/alpha": 0.5 })),
    16,
  );
  assert.equal(cur.curriculum_l_pre_late, 32); // last 5 steps: 20, 20, 40, 40, 40
  assert.equal(cur.curriculum_alpha_late, 0.5);
});

test("study configs that cannot work fail before any work, naming the fix", () => {
  const bad = (extra: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => study(extra),
      (e: unknown) => isRecapError(e) && re.test(e.message),
      String(re),
    );
  bad(
    {
      sweeps: [
        {
          title: "t",
          x_label: "x",
          points: [
            { arm: "dapo", x: 0 },
            { arm: "nope", x: 1 },
          ],
          metrics: ["safety_prefill"],
        },
      ],
    },
    /unknown arms nope/,
  );
  bad({ arms: { recap: { preset: "recap", rl: { seed: 3 } } }, sweeps: [] }, /rl\.seed is set/);
  bad({ arms: { recap: { preset: "recap", rl: { alpha: 2 } } }, sweeps: [] }, /alpha/);
  bad({ arms: { recap: { preset: "ppo" } }, sweeps: [] }, /preset/);
  bad({ arms: { "Bad Name": { preset: "recap" } }, sweeps: [] }, /"Bad Name" is not a folder-safe name/);
  bad({ seeds: [1, 1] }, /seeds repeat/);
  bad({ demo: "huge" }, /unknown demo preset "huge"/);
  bad({ arms: {}, sweeps: [] }, /no arms/);
  bad(
    { beta_curves: [{ title: "b", arms: ["ghost"], clean: "safety_clean", attacked: "safety_prefill" }] },
    /beta curve "b" names unknown arms ghost/,
  );
  bad({ tables: [{ title: "T", columns: ["base", "ghost"] }] }, /table "T" names unknown arms ghost/);
  bad(
    { training_curves: [{ title: "c", arms: ["ghost"], metric: "reward/mean" }] },
    /training curve "c" names unknown arms ghost/,
  );
  bad(
    { tables: [{ title: "T", columns: ["base"], metrics: ["safety_clen"] }] },
    /table "T" names unknown metrics safety_clen/,
  );
  bad(
    {
      bases: [
        { name: "a", world_seed: 1 },
        { name: "a", world_seed: 2 },
      ],
    },
    /base names repeat/,
  );
  bad(
    { arms: { recap: { preset: "recap", bases: ["ghost"] } }, sweeps: [], beta_curves: [] },
    /arms\.recap\.bases names unknown bases ghost/,
  );
  bad({ comparisons: [["recap", "ghost"]] }, /comparison recap - ghost names unknown arms ghost/);
});

test("a study runs its arms over every seed, writes tables, JSON and plots, resumes, and adds arms later", {
  timeout: 400_000,
}, async () => {
  const out = path.join(tmp, "study");
  const first: string[] = [];
  const s1 = await runStudy({ config: study(), out, arms: ["dapo", "recap"], log: (l) => first.push(l) });
  assert.deepEqual(Object.keys(s1.arms), ["dapo", "recap"]);
  assert.deepEqual(s1.pending, ["alpha-1"]);
  assert.deepEqual(s1.incomplete, {});
  // Seed by seed: every arm's seed 0 before any arm's seed 1 (a study cut short stays paired).
  const at = (who: string) => first.findIndex((l) => l.startsWith(who));
  assert.ok(at("recap s1 seed 0") >= 0 && at("recap s1 seed 0") < at("dapo s1 seed 1"), first.join("\n"));
  for (const arm of ["dapo", "recap"]) {
    const a = s1.arms[arm]!;
    assert.deepEqual(a.seeds, [0, 1]);
    assert.equal(a.metrics["safety_clean"]!.values.length, 2);
    for (const seed of [0, 1])
      assert.ok(
        fs.existsSync(path.join(out, "arms", arm, "s1", `seed${seed}`, "rl", "checkpoint", "model.safetensors")),
      );
  }
  // Same base and budget; the seeds differ, and DAPO sees no prefill while RECAP does.
  const cfg = (arm: string, seed: number) =>
    JSON.parse(fs.readFileSync(path.join(out, "arms", arm, "s1", `seed${seed}`, "rl.config.json"), "utf8")) as Record<
      string,
      unknown
    >;
  assert.equal(cfg("dapo", 0)["base"], cfg("recap", 1)["base"]);
  assert.deepEqual([cfg("recap", 0)["seed"], cfg("recap", 1)["seed"]], [0, 1]);
  assert.equal(cfg("dapo", 0)["recap_enabled"], false);
  assert.equal(s1.arms["dapo"]!.training["prefilled_reward_early"], undefined);
  const md = fs.readFileSync(s1.files.markdown, "utf8");
  assert.match(md, /\| metric \| base \(1 run\) \| sft \(1 run\) \| dapo \| recap \|/);
  assert.match(md, /## Not run yet\n\n- alpha-1/);
  assert.equal(s1.files.plots.length, 3); // the sweep (two of its three points are there), the beta curve, training
  // The training curve: each run's per-step reward as its metrics.jsonl has it, drawn and tabled.
  const stepReward = (arm: string, seed: number) =>
    fs
      .readFileSync(path.join(out, "arms", arm, "s1", `seed${seed}`, "rl", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)["reward/mean"] as number);
  assert.deepEqual(s1.arms["recap"]!.curves["reward/mean"], [stepReward("recap", 0), stepReward("recap", 1)]);
  assert.ok(s1.files.plots.some((p) => p.endsWith("training-1.svg")));
  assert.match(
    fs.readFileSync(s1.files.markdown, "utf8"),
    /### training reward\n\nreward\/mean per RL step[^\n]*\n\n\| arm \| step 1 \|/,
  );
  const svg = fs.readFileSync(s1.files.plots[0]!, "utf8");
  // J(beta) per seed: at beta 0 the clean metric's mean, at beta 1 the attacked one's.
  const curve = betaCurve(s1, { title: "b", arms: ["recap"], clean: "safety_clean", attacked: "safety_prefill" })[0]!;
  assert.ok(Math.abs(curve.points[0]!.stats.mean - s1.arms["recap"]!.metrics["safety_clean"]!.mean) < 1e-12);
  assert.ok(Math.abs(curve.points.at(-1)!.stats.mean - s1.arms["recap"]!.metrics["safety_prefill"]!.mean) < 1e-12);
  assert.match(fs.readFileSync(s1.files.markdown, "utf8"), /\| beta \| dapo \| recap \|/);
  assert.match(svg, /^<svg[^>]*><style>/);
  assert.ok(svg.includes('<path class="line"'));
  assert.ok(fs.readFileSync(s1.files.html, "utf8").includes("<svg"));

  const again: string[] = [];
  const s2 = await runStudy({ config: study(), out, arms: ["dapo", "recap"], log: (l) => again.push(l) });
  assert.equal(again.filter((l) => l.includes("done earlier")).length, 5 + 2 * 2 * 2, again.join("\n"));
  assert.deepEqual(s2.arms["recap"]!.metrics, s1.arms["recap"]!.metrics);

  // An arm cut short (alpha-1 finished seed 0 only) is reported on its finished runs, the missing
  // ones named, when a later command leaves it out; nothing of it runs then.
  await runStudy({ config: study({ seeds: [0] }), out, arms: ["alpha-1"] });
  const part = await runStudy({ config: study(), out, arms: ["dapo"] });
  assert.deepEqual(part.pending, []);
  assert.deepEqual(part.incomplete, { "alpha-1": [{ base: "s1", seed: 1 }] });
  assert.deepEqual(part.arms["alpha-1"]!.runs, [{ base: "s1", seed: 0 }]);
  assert.equal(fs.existsSync(path.join(out, "arms", "alpha-1", "s1", "seed1")), false);
  const mdPart = fs.readFileSync(part.files.markdown, "utf8");
  assert.match(mdPart, /\| alpha-1 \(1 of 2 runs\) \|/);
  assert.match(mdPart, /## Runs still missing\n\n[^\n]*\n\n- alpha-1: s1 seed 1\n/);
  assert.deepEqual(JSON.parse(fs.readFileSync(part.files.json, "utf8")).incomplete, {
    "alpha-1": [{ base: "s1", seed: 1 }],
  });

  const tables = [
    {
      title: "Table 2 in miniature",
      columns: ["base", "recap", "alpha-1"],
      metrics: ["safety_clean", "math_accuracy"],
    },
  ];
  const s3 = await runStudy({ config: study({ tables }), out, arms: ["alpha-1"] });
  const md3 = fs.readFileSync(s3.files.markdown, "utf8");
  assert.match(
    md3,
    /## Table 2 in miniature\n\n\| metric \| base \(1 run\) \| recap \| alpha-1 \|\n\|---\|---\|---\|---\|\n\| clean safety % \|[^\n]*\n\| math % \|[^\n]*\n\n/,
  );
  assert.deepEqual(Object.keys(s3.arms), ["dapo", "recap", "alpha-1"]);
  assert.deepEqual(s3.pending, []);
  assert.deepEqual(s3.incomplete, {});
  const j = JSON.parse(fs.readFileSync(s3.files.json, "utf8"));
  assert.equal(j.arms["alpha-1"].overrides.rl.alpha, 1);
  // study.json: every run's value, and means that agree with them.
  for (const [arm, a] of Object.entries(
    j.arms as Record<
      string,
      { metrics: Record<string, { mean: number; per_run: { base: string; seed: number; value: number | null }[] }> }
    >,
  )) {
    const m = a.metrics["safety_clean"]!;
    assert.deepEqual(
      m.per_run.map((r) => [r.base, r.seed]),
      [
        ["s1", 0],
        ["s1", 1],
      ],
      arm,
    );
    const vals = m.per_run.map((r) => r.value!);
    assert.ok(Math.abs(m.mean - vals.reduce((x, y) => x + y, 0) / vals.length) < 1e-12, arm);
  }
  // alpha 1: every safety prompt prefilled (4 prompts: each seed's first draw holds a safety prompt; 60% of
  // the world's RL prompts are math, so 2 might not)
  assert.equal(typeof s3.arms["alpha-1"]!.training["prefilled_reward_early"]?.mean, "number");

  // A lost folder: the study.json written above stands in for its runs (nothing runs again, the
  // same statistics); a longer seed list then runs only the runs the record lacks.
  const record = s3.files.json;
  const out2 = path.join(tmp, "imported");
  const back = await runStudy({ config: study({ tables }), out: out2, importFrom: record });
  assert.equal(fs.existsSync(path.join(out2, "arms")), false, "an imported run is not run again");
  for (const arm of ["dapo", "recap", "alpha-1"]) {
    assert.deepEqual(back.arms[arm]!.metrics, s3.arms[arm]!.metrics, arm);
    assert.deepEqual(back.arms[arm]!.training, s3.arms[arm]!.training, arm);
    assert.deepEqual(back.arms[arm]!.curves, s3.arms[arm]!.curves, arm);
  }
  assert.deepEqual(back.bases["s1"]!.base, s3.bases["s1"]!.base);
  assert.deepEqual(back.imported?.runs["recap"], [
    { base: "s1", seed: 0 },
    { base: "s1", seed: 1 },
  ]);
  assert.match(
    fs.readFileSync(back.files.markdown, "utf8"),
    /## Runs from an earlier record\n\n[^\n]*\n\n- dapo: s1 seed 0, s1 seed 1\n/,
  );
  assert.deepEqual(JSON.parse(fs.readFileSync(back.files.json, "utf8")).imported.runs["alpha-1"].length, 2);
  const more = await runStudy({ config: study({ seeds: [0, 1, 2] }), out: out2, importFrom: record, arms: ["recap"] });
  assert.deepEqual(fs.readdirSync(path.join(out2, "arms")), ["recap"]);
  assert.deepEqual(fs.readdirSync(path.join(out2, "arms", "recap", "s1")), ["seed2"]);
  assert.deepEqual(
    more.arms["recap"]!.runs,
    [0, 1, 2].map((seed) => ({ base: "s1", seed })),
  );
  assert.deepEqual(
    more.arms["recap"]!.metrics["safety_clean"]!.values.slice(0, 2),
    s3.arms["recap"]!.metrics["safety_clean"]!.values,
  );
  assert.deepEqual(more.imported?.runs["recap"]?.length, 2);
  assert.deepEqual(more.incomplete, { dapo: [{ base: "s1", seed: 2 }], "alpha-1": [{ base: "s1", seed: 2 }] });
  assert.equal(more.arms["recap"]!.curves["reward/mean"]!.filter((c) => c.length > 0).length, 3);
  // A record without curves (written before study.json kept them) still imports; its runs draw none.
  const noCurves = JSON.parse(fs.readFileSync(record, "utf8"));
  for (const a of Object.values(noCurves.arms) as Record<string, unknown>[]) delete a["curves"];
  const old = path.join(tmp, "old-record.json");
  fs.writeFileSync(old, JSON.stringify(noCurves));
  const fromOld = await runStudy({ config: study(), out: path.join(tmp, "imported-old"), importFrom: old });
  assert.deepEqual(fromOld.arms["recap"]!.metrics, s3.arms["recap"]!.metrics);
  assert.equal(trainingCurve(fromOld, { title: "t", arms: ["recap"], metric: "reward/mean", window: 1 }).length, 0);
  // A record of other settings, another world or no record at all: refused before any work.
  const bad = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const otherWorld = bad(
    "world.json",
    JSON.stringify({ ...JSON.parse(fs.readFileSync(record, "utf8")), world: "recap-world/0" }),
  );
  for (const [cfg, file, why] of [
    [
      study({ arms: { dapo: { preset: "dapo", rl: { lr: 1e-4 } } }, sweeps: [], beta_curves: [], training_curves: [] }),
      record,
      /arm dapo was run with other settings/,
    ],
    [study(), otherWorld, /its runs are on recap-world\/0/],
    [study(), bad("notjson.json", "{"), /cannot read it as JSON/],
    [study(), bad("shape.json", "{}"), /not a study.json/],
  ] as const)
    await assert.rejects(
      runStudy({ config: cfg, out: path.join(tmp, "refused"), importFrom: file }),
      (e: unknown) => isRecapError(e) && why.test(e.message),
    );
  assert.equal(fs.existsSync(path.join(tmp, "refused")), false);

  const typo = study({
    arms: { dapo: { preset: "dapo", train: { objective: { loss: { name: "ppo" } } } } },
    sweeps: [],
    beta_curves: [],
    training_curves: [],
  });
  await assert.rejects(
    runStudy({ config: typo, out: path.join(tmp, "typo") }),
    (e: unknown) => isRecapError(e) && /study arm dapo \(train\)/.test(e.message),
  );
  assert.equal(fs.existsSync(path.join(tmp, "typo")), false, "nothing is written before the configs check");
  await assert.rejects(
    runStudy({ config: study(), out, arms: ["nope"] }),
    (e: unknown) => isRecapError(e) && /unknown arm\(s\) nope/.test(e.message),
  );
  const changed = study({
    arms: {
      dapo: { preset: "dapo", rl: { lr: 1e-4 } },
      recap: { preset: "recap" },
      "alpha-1": { preset: "recap", rl: { alpha: 1 } },
    },
  });
  await assert.rejects(
    runStudy({ config: changed, out, arms: ["dapo"] }),
    (e: unknown) => isRecapError(e) && /made with other settings/.test(e.message),
  );
});

test("two bases: every arm runs from each, runs are paired by (base, seed), spread split by base; a continuous arm trains and uses each base's guard", {
  timeout: 600_000,
}, async () => {
  const out = path.join(tmp, "two-bases");
  const cfg = study({
    seeds: [0, 1],
    sweeps: [],
    beta_curves: [],
    bases: [
      { name: "s1", world_seed: 1, base: "shipped" },
      { name: "s2", world_seed: 2, base: "train" },
    ],
    arms: {
      dapo: { preset: "dapo" },
      recap: { preset: "recap" },
      guarded: { preset: "recap", bases: ["s1"], safety_reward: "continuous" },
    },
    comparisons: [["recap", "dapo"]],
    guard: { limit: 40, max_new_tokens: 352, sft: { steps: 2, warmup_steps: 1, eval_every: 1 } },
  });
  const s = await runStudy({ config: cfg, out });
  assert.deepEqual(s.arms["recap"]!.runs, [
    { base: "s1", seed: 0 },
    { base: "s1", seed: 1 },
    { base: "s2", seed: 0 },
    { base: "s2", seed: 1 },
  ]);
  assert.deepEqual(s.arms["guarded"]!.runs, [
    { base: "s1", seed: 0 },
    { base: "s1", seed: 1 },
  ]);
  assert.equal(s.bases["s1"]!.source.startsWith("shipped"), true);
  assert.ok(s.bases["s1"]!.guard, "the continuous arm's base has a guard");
  assert.equal(s.bases["s2"]!.guard, null, "no continuous arm runs from s2");
  const rl = (arm: string, base: string, seed: number) =>
    JSON.parse(fs.readFileSync(path.join(out, "arms", arm, base, `seed${seed}`, "rl.config.json"), "utf8")) as Record<
      string,
      unknown
    >;
  assert.equal(rl("guarded", "s1", 0)["guard_model"], path.join(out, "bases", "s1", "guard", "model", "checkpoint"));
  assert.equal(rl("recap", "s1", 0)["guard_model"], undefined);
  assert.notEqual(rl("recap", "s1", 0)["world"], rl("recap", "s2", 0)["world"]);
  // Paired differences: recap - dapo per (base, seed).
  const d = s.comparisons["recap - dapo"]!;
  assert.equal(d.runs.length, 4);
  const r = s.arms["recap"]!.metrics["safety_clean"]!.values,
    q = s.arms["dapo"]!.metrics["safety_clean"]!.values;
  assert.ok(Math.abs(d.metrics["safety_clean"]!.mean - r.reduce<number>((a, v, i) => a + (v! - q[i]!), 0) / 4) < 1e-12);
  assert.ok(s.arms["recap"]!.variance["safety_clean"], "two bases: the spread is split");
  const md = fs.readFileSync(s.files.markdown, "utf8");
  assert.match(md, /\| metric \| base \(2 runs\) \| sft \(2 runs\) \|/);
  assert.match(md, /## Paired differences/);
  assert.match(md, /## The world guard/);
  const j = JSON.parse(fs.readFileSync(s.files.json, "utf8"));
  assert.equal(j.world, s.world_version);
  assert.deepEqual(
    j.bases.map((b: { name: string }) => b.name),
    ["s1", "s2"],
  );
  assert.equal(j.arms["recap"].metrics["safety_clean"].per_run.length, 4);
  assert.equal(j.arms["guarded"].overrides.safety_reward, "continuous");
});

test("paired differences: more than six comparisons split into tables of at most six columns", () => {
  const stats = seedStats([0.1, 0.2, 0.3])!;
  const comparisons: StudySummary["comparisons"] = {};
  for (let i = 0; i < 8; i++)
    comparisons[`arm${i} - recap`] = {
      runs: [0, 1, 2].map((seed) => ({ base: "s1", seed })),
      metrics: { safety_prefill: stats },
    };
  const md = comparisonsMarkdown({ comparisons } as unknown as StudySummary).join("\n");
  const headers = md.split("\n").filter((l) => l.startsWith("| metric |"));
  assert.equal(headers.length, 2, "8 comparisons: two tables");
  assert.equal(headers[0]!.split(" | ").length - 1, 6);
  assert.match(headers[1]!, /arm6 - recap \(3 pairs\) \| arm7 - recap \(3 pairs\) \|$/);
  for (let i = 0; i < 8; i++) assert.equal(md.split(`arm${i} - recap`).length - 1, 1, `arm${i} appears once`);
});

// The RL trainer on a small world and a briefly SFT'd micro model: the run folder and metrics,
// prefills only on safety / over-refusal prompts at rate alpha, behaviour log-probs equal to a
// recompute, exact resume after a crash, and bad configs failing before any work.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { refKernels } from "../../src/engine/ref.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { forward } from "../../src/model/forward.ts";
import { Llama } from "../../src/model/llama.ts";
import { Tokenizer } from "../../src/model/tokenizer.ts";
import { scatterGenerated, packBatch } from "../../src/rl/layout.ts";
import { runSft } from "../../src/train/sft.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { promptPool, runTrain, update } from "../../src/train/rl.ts";
import { AdamW } from "../../src/model/optim.ts";
import { decayedParamNames } from "../../src/model/config.ts";
import { TrainConfigSchema } from "../../src/train/rl_config.ts";
import {
  buildCurriculumPrompts,
  buildPolicyPrompts,
  curriculumPrompt,
  loadWorldPrompts,
} from "../../src/train/rl_prompts.ts";
import { judgeReward } from "../../src/reward/routes.ts";
import { generateGroups } from "../../src/train/rollout.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { initialCurriculum, nextCurriculum } from "../../src/train/curriculum.ts";
import { buildWorld } from "../../src/world/build.ts";
import { parseWorldConfig } from "../../src/world/config.ts";
import { writeWorld } from "../../src/world/write.ts";

process.env["RECAP_QUIET"] = "1";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-rl-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const worldDir = path.join(tmp, "world");
const baseRun = path.join(tmp, "base");

const ready = (async () => {
  await writeWorld(worldDir, buildWorld(1, parseWorldConfig({})));
  const sft = validateConfig(
    {
      data: `${worldDir}/corpora/base_sft.jsonl`,
      init: { preset: "micro", seed: 1, overrides: { max_position_embeddings: 384, vocab_size: 512 } },
      steps: 3,
      batch_size: 4,
      kernels: "ref",
      warmup_steps: 0,
    },
    SftConfigSchema,
    "t",
  );
  await runSft({ config: sft, configDir: tmp, out: baseRun });
})();

const cfg = (extra: Record<string, unknown> = {}) =>
  validateConfig(
    {
      world: worldDir,
      base: `${baseRun}/checkpoint`,
      steps: 4,
      prompts_per_step: 3,
      group_size: 2,
      max_new_tokens: 12,
      save_every: 2,
      kernels: "ref",
      lr: 1e-3,
      objective: { dynamic_sampling: { rule: "none" } },
      ...extra,
    },
    TrainConfigSchema,
    "t",
  );

test("prefills go to a fraction alpha of safety / over-refusal prompts, never to math", async () => {
  await ready;
  const ck = await loadCheckpoint(`${baseRun}/checkpoint`);
  const tok = Tokenizer.fromJSON(ck.tokenizerJson);
  const rows = loadWorldPrompts(worldDir);
  const prompts = await buildPolicyPrompts(rows, cfg({ recap: { alpha: 0.5, l_pre: 10 } }), tok, tmp);
  const eligible = prompts.filter((p) => p.item.source !== "math");
  const pre = prompts.filter((p) => p.prefillIds.length > 0);
  assert.equal(pre.length, Math.round(0.5 * eligible.length));
  assert.ok(pre.every((p) => p.item.source !== "math"));
  for (const p of pre.slice(0, 20)) {
    assert.equal(tok.decode(p.prefillIds), `<think>${p.prefillThinking}`, "the turn starts with the opener");
    assert.ok(p.prefillThinking!.trim().split(/\s+/).length <= 10);
    assert.ok(!p.prefillThinking!.includes("</think>") && !p.prefillThinking!.includes("<think>"));
  }
  const off = await buildPolicyPrompts(rows, cfg({ recap_enabled: false }), tok, tmp);
  assert.ok(off.every((p) => p.prefillIds.length === 0));
});

test("behaviour log-probs from the sampler equal a recompute at the masked positions", async () => {
  await ready;
  const ck = await loadCheckpoint(`${baseRun}/checkpoint`);
  const tok = Tokenizer.fromJSON(ck.tokenizerJson);
  const model = new Llama(ck.config, ck.params, refKernels);
  const prompts = (
    await buildPolicyPrompts(loadWorldPrompts(worldDir), cfg({ recap: { alpha: 1, l_pre: 8 } }), tok, tmp)
  )
    .filter((p) => p.item.source !== "math")
    .slice(0, 2);
  assert.ok(prompts.every((p) => p.prefillIds.length > 0));
  const groups = await generateGroups(model, tok, prompts, {
    groupSize: 2,
    maxNewTokens: 10,
    temperature: 1,
    topP: 1,
    seed: 3,
  });
  const rollouts = groups.flatMap((g) => g.rollouts);
  const packed = packBatch(
    rollouts.map((r) => ({ prompt: r.prompt.promptIds, prefill: r.prompt.prefillIds, generated: r.generated })),
    tok.specialIds.pad,
  );
  const old = scatterGenerated(
    packed,
    rollouts.map((r) => r.logprobs),
  );
  const { logprobs } = forward(model, packed.ids, packed.targets, packed.B, packed.T);
  let n = 0;
  for (let i = 0; i < old.length; i++)
    if (packed.mask[i]) {
      assert.ok(Math.abs(old[i]! - logprobs[i]!) < 1e-4);
      n++;
    }
  assert.equal(
    n,
    rollouts.reduce((a, r) => a + r.generated.length, 0),
  );
});

test("a row drawn twice in one round gets two groups of G rollouts each, not one shared list", async () => {
  await ready;
  const ck = await loadCheckpoint(`${baseRun}/checkpoint`);
  const tok = Tokenizer.fromJSON(ck.tokenizerJson);
  const model = new Llama(ck.config, ck.params, refKernels);
  const [a, b] = (await buildPolicyPrompts(loadWorldPrompts(worldDir), cfg(), tok, tmp)).slice(0, 2);
  const groups = await generateGroups(model, tok, [a!, b!, a!], {
    groupSize: 2,
    maxNewTokens: 6,
    temperature: 1,
    topP: 1,
    seed: 4,
  });
  assert.deepEqual(
    groups.map((g) => g.prompt.index),
    [a!.index, b!.index, a!.index],
  );
  for (const g of groups) assert.equal(g.rollouts.length, 2, "each group holds G rollouts");
  assert.notEqual(groups[0]!.rollouts, groups[2]!.rollouts, "the two draws of one row do not share a list");
  assert.equal(new Set(groups.flatMap((g) => g.rollouts)).size, 6, "every rollout enters the update once");
});

test("a run writes metrics and a checkpoint; an interrupted run resumes bit-identically", async () => {
  await ready;
  const c = cfg({ recap: { alpha: 0.5, l_pre: 10 } });
  const full = path.join(tmp, "full"),
    cut = path.join(tmp, "cut");
  const s = await runTrain({ config: c, configDir: tmp, out: full });
  assert.equal(s.steps, 4);
  const lines = fs
    .readFileSync(path.join(full, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.step),
    [1, 2, 3, 4],
  );
  for (const l of lines) {
    assert.equal(l["sampling/kept_groups"], 3);
    assert.ok(Number.isFinite(l["actor/pg_loss"]) && Number.isFinite(l["actor/clipfrac"]));
    assert.ok(l["reward/mean"] >= 0 && l["reward/mean"] <= 1);
    assert.ok(!Object.keys(l).some((k) => k.startsWith("curriculum/")), "no curriculum metrics when it is off");
  }
  await assert.rejects(
    runTrain({
      config: c,
      configDir: tmp,
      out: cut,
      onStep: (k) => {
        if (k === 3) throw new Error("crash");
      },
    }),
    /crash/,
  );
  await runTrain({ config: c, configDir: tmp, out: cut, resume: true });
  const a = await loadCheckpoint(path.join(full, "checkpoint")),
    b = await loadCheckpoint(path.join(cut, "checkpoint"));
  for (const [name, pa] of a.params) assert.deepEqual(b.params.get(name), pa, `param ${name} differs after resume`);
  const steps = fs
    .readFileSync(path.join(cut, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, [1, 2, 3, 4]);
});

test("an update raises the log-prob of the rewarded rollout and lowers the other's", async () => {
  await ready;
  const ck = await loadCheckpoint(`${baseRun}/checkpoint`);
  const tok = Tokenizer.fromJSON(ck.tokenizerJson);
  const model = new Llama(ck.config, ck.params, refKernels);
  const opt = new AdamW(model.params, refKernels, decayedParamNames(ck.config));
  const c = cfg({ recap: { alpha: 1, l_pre: 8 }, lr: 3e-3 });
  const [p] = (await buildPolicyPrompts(loadWorldPrompts(worldDir), c, tok, tmp)).filter(
    (x) => x.prefillIds.length > 0,
  );
  const [g] = await generateGroups(model, tok, [p!], {
    groupSize: 2,
    maxNewTokens: 8,
    temperature: 1,
    topP: 1,
    seed: 5,
  });
  assert.notDeepEqual(
    g!.rollouts[0]!.generated,
    g!.rollouts[1]!.generated,
    "pick a seed giving two different rollouts",
  );
  g!.rollouts[0]!.reward = 1;
  g!.rollouts[1]!.reward = 0;
  g!.rewards = [1, 0];
  const seqLogp = () =>
    g!.rollouts.map((r) => {
      const packed = packBatch(
        [{ prompt: r.prompt.promptIds, prefill: r.prompt.prefillIds, generated: r.generated }],
        tok.specialIds.pad,
      );
      const { logprobs } = forward(model, packed.ids, packed.targets, 1, packed.T);
      return logprobs.reduce((a, x, i) => a + (packed.mask[i] ? x : 0), 0);
    });
  const before = seqLogp();
  const stats = update({ model, ref: null, opt, tokenizer: tok, step: 0 }, [g!], c);
  const after = seqLogp();
  assert.ok(stats.gradNorm > 0);
  assert.ok(after[0]! > before[0]!, `rewarded rollout: ${before[0]} -> ${after[0]}`);
  assert.ok(after[1]! < before[1]!, `unrewarded rollout: ${before[1]} -> ${after[1]}`);
});

test("bad configs fail before any work, naming the field", () => {
  const bad = (extra: Record<string, unknown>, re: RegExp) => assert.throws(() => cfg(extra), re);
  bad({ recap: { alpha: 1.5 } }, /recap\.alpha/);
  bad({ group_size: 1 }, /group_size/);
  bad({ objective: { loss: { name: "dapo", eps_low: 0.3, eps_high: 0.2 } } }, /eps_high/);
  bad({ recap: { l_pre: -1 } }, /recap\.l_pre/);
  bad({ objective: { loss: { name: "ppo" } } }, /unknown policy loss/);
  bad({ pi_harm_model: "x" }, /pi_refuse_model/);
});

test("micro-batches accumulate to the same step as one batch", async () => {
  await ready;
  const ck = await loadCheckpoint(`${baseRun}/checkpoint`);
  const tok = Tokenizer.fromJSON(ck.tokenizerJson);
  const c = cfg({ recap: { alpha: 1, l_pre: 8 }, lr: 1e-3 });
  const prompts = (await buildPolicyPrompts(loadWorldPrompts(worldDir), c, tok, tmp))
    .filter((x) => x.prefillIds.length > 0)
    .slice(0, 2);
  const sampler = new Llama(ck.config, ck.params, refKernels);
  const groups = await generateGroups(sampler, tok, prompts, {
    groupSize: 2,
    maxNewTokens: 8,
    temperature: 1,
    topP: 1,
    seed: 5,
  });
  groups.forEach((g, i) => {
    g.rollouts[0]!.reward = 1;
    g.rollouts[1]!.reward = i * 0.5;
    g.rewards = g.rollouts.map((r) => r.reward);
  });
  const run = (micro: number) => {
    const model = new Llama(ck.config, ck.params, refKernels);
    const opt = new AdamW(model.params, refKernels, decayedParamNames(ck.config));
    update({ model, ref: null, opt, tokenizer: tok, step: 0 }, groups, { ...c, micro_batch_rows: micro });
    return model.grads; // the step's accumulated gradient (kept until the next step zeroes it)
  };
  const one = run(4),
    two = run(1); // one micro-batch of 4 rows vs 4 of one row each
  let maxDiff = 0,
    scale = 0;
  for (const [n, a] of one) {
    const b = two.get(n)!;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
  }
  assert.ok(scale > 0, "the step has a gradient");
  assert.ok(maxDiff < 1e-4 * scale, `micro-batched gradient differs by ${maxDiff} (max |g| ${scale})`);
});

test("reward modes: rubric keeps the judge's 0 / 0.5 / 1, binary rewards only a full score", () => {
  assert.deepEqual(
    [0, 0.5, 1].map((s) => judgeReward(s, false)),
    [0, 0.5, 1],
  );
  assert.deepEqual(
    [0, 0.5, 1].map((s) => judgeReward(s, true)),
    [0, 0, 1],
  );
});

// The adaptive prefill curriculum (src/train/curriculum.ts; its pure parts in curriculum.test.ts).
const curCfg = (extra: Record<string, unknown> = {}) =>
  cfg({
    prompts_per_step: 8,
    recap: { alpha: 0.75, l_pre: 8 },
    curriculum: { levels: [4, 8, 12], start_level: 2, window: 1, low: 0.99, high: 1 },
    ...extra,
  });

test("curriculum off: the trainer draws exactly buildPolicyPrompts' prompts", async () => {
  await ready;
  const tok = Tokenizer.fromJSON((await loadCheckpoint(`${baseRun}/checkpoint`)).tokenizerJson);
  const rows = loadWorldPrompts(worldDir);
  const c = cfg({ recap: { alpha: 0.5, l_pre: 10 } });
  const today = await buildPolicyPrompts(rows, c, tok, tmp);
  const pool = await promptPool(rows, c, tok, tmp, { curriculum: null });
  assert.equal(pool.n, today.length);
  for (const pos of [0, 7, 1000])
    assert.ok(today.every((p, i) => assert.deepEqual(pool.pick(i, pos + i), p) === undefined));
});

test("curriculum prompts: clean rows as today's, each level cutting the same thinking, prefill decided per draw", async () => {
  await ready;
  const tok = Tokenizer.fromJSON((await loadCheckpoint(`${baseRun}/checkpoint`)).tokenizerJson);
  const rows = loadWorldPrompts(worldDir);
  const c = curCfg();
  const t = await buildCurriculumPrompts(rows, c, tok, tmp);
  const n = rows.length;
  assert.deepEqual(t.clean, await buildPolicyPrompts(rows, cfg({ recap_enabled: false }), tok, tmp));
  // The level at the fixed mixture's l_pre carries the fixed mixture's prefills (same seed, same sources).
  const fixed = await buildPolicyPrompts(rows, cfg({ recap: { alpha: 0.75, l_pre: 8 } }), tok, tmp);
  for (const p of fixed.filter((x) => x.prefillThinking !== null))
    assert.deepEqual({ ...t.levels[1]![p.index]!, index: p.index }, p);
  for (let row = 0; row < n; row++) {
    const [l4, l8, l12] = t.levels.map((lv) => lv[row]!); // (3) one prompt per level, or null
    if (rows[row]!.source === "math") {
      assert.ok(l4 === null && l8 === null && l12 === null, "math rows are never prefilled");
      continue;
    }
    assert.deepEqual(
      t.levels.map((lv) => lv[row]!.index),
      [n + row, 2 * n + row, 3 * n + row],
    );
    assert.ok(
      l8!.prefillThinking!.startsWith(l4!.prefillThinking!) && l12!.prefillThinking!.startsWith(l8!.prefillThinking!),
      `row ${row}: a longer level extends a shorter one`,
    );
    assert.ok(l4!.prefillThinking!.trim().split(/\s+/).length <= 4);
  }
  // Per draw: math rows stay clean, eligible rows are prefilled at about alpha, at the state's level.
  const eligibleRow = rows.findIndex((r) => r.source !== "math"),
    mathRow = rows.findIndex((r) => r.source === "math");
  const picks = Array.from({ length: 400 }, (_, pos) =>
    curriculumPrompt(t, eligibleRow, pos, { level: 0, alpha: 0.5 }, c.seed),
  );
  const share = picks.filter((p) => p.prefillThinking !== null).length / picks.length;
  assert.ok(share > 0.4 && share < 0.6, `prefilled share ${share}`);
  assert.ok(picks.every((p) => p === t.clean[eligibleRow] || p === t.levels[0]![eligibleRow]));
  assert.equal(curriculumPrompt(t, mathRow, 0, { level: 2, alpha: 1 }, c.seed), t.clean[mathRow]);
  assert.equal(curriculumPrompt(t, eligibleRow, 5, { level: 2, alpha: 1 }, c.seed), t.levels[2]![eligibleRow]);
});

test("a curriculum run logs its level, l_pre, alpha and recovery, and resumes bit-identically", async () => {
  await ready;
  const c = curCfg();
  const full = path.join(tmp, "cur-full"),
    cut = path.join(tmp, "cur-cut");
  await runTrain({ config: c, configDir: tmp, out: full });
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(full, "config.json"), "utf8")).curriculum, c.curriculum);
  const read = (dir: string) =>
    fs
      .readFileSync(path.join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
  const lines = read(full);
  // The band [0.99, 1) puts any imperfect recovery below `low`: down a level each step, then alpha down.
  // A step whose draw holds no prefilled prompt logs no recovery and leaves the state alone.
  const observed = lines.filter((l) => l["curriculum/recovery"] !== undefined);
  assert.ok(observed.length >= 2, "at least two steps drew prefilled prompts");
  for (const l of observed)
    assert.ok(l["curriculum/recovery"]! < 0.99, `step ${l["step"]}: recovery ${l["curriculum/recovery"]}`);
  for (const l of lines) assert.equal(l["curriculum/l_pre"], c.curriculum!.levels[l["curriculum/level"]!]);
  const last = lines.at(-1)!;
  assert.ok(
    last["curriculum/level"]! < 2 || last["curriculum/alpha"]! < 0.75,
    "recovery below the band moved the curriculum down",
  );
  let s = initialCurriculum(c.curriculum!, c.recap.alpha); // the logged states replay the controller on the logged rates
  for (const l of lines) {
    assert.deepEqual([l["curriculum/level"], l["curriculum/alpha"]], [s.level, s.alpha]);
    assert.equal(l["curriculum/recovery"], l["reward/prefilled"]);
    s = nextCurriculum(s, l["curriculum/recovery"] ?? null, c.curriculum!);
  }
  await assert.rejects(
    runTrain({
      config: c,
      configDir: tmp,
      out: cut,
      onStep: (k) => {
        if (k === 3) throw new Error("crash");
      },
    }),
    /crash/,
  );
  await runTrain({ config: c, configDir: tmp, out: cut, resume: true });
  const untimed = (ls: Record<string, number>[]) =>
    ls.map((l) => Object.fromEntries(Object.entries(l).filter(([k]) => !k.startsWith("time/"))));
  assert.deepEqual(untimed(read(cut)), untimed(lines));
  const a = await loadCheckpoint(path.join(full, "checkpoint")),
    b = await loadCheckpoint(path.join(cut, "checkpoint"));
  for (const [name, pa] of a.params) assert.deepEqual(b.params.get(name), pa, `param ${name} differs after resume`);
  assert.deepEqual(b.trainerState!.extra!["curriculum"], a.trainerState!.extra!["curriculum"]);
});

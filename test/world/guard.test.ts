// The world guard (src/world/guard.ts, guard_data.ts, src/reward/guard_model.ts): calibration
// statistics on known inputs, the pair format, P(yes) equal to the teacher-forced forward's ratio
// whatever the batch, labelled pairs that agree with the judge, and the continuous safety reward
// in rollouts (harmful, well-formed rollouts take 1 - P(yes); the rest keep the judge's reward).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectKernels } from "../../src/engine/select.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { forward } from "../../src/model/forward.ts";
import { Llama } from "../../src/model/llama.ts";
import { Tokenizer } from "../../src/model/tokenizer.ts";
import { WorldGuard } from "../../src/reward/guard_model.ts";
import { encodePolicyPrompt } from "../../src/recap/render.ts";
import { shippedBaseDir } from "../../src/demo/shipped.ts";
import { loadWorldPrompts } from "../../src/train/rl_prompts.ts";
import { worldGuardRoute, worldRoute } from "../../src/reward/routes.ts";
import { type PolicyPrompt, generateGroups } from "../../src/train/rollout.ts";
import { buildWorld } from "../../src/world/build.ts";
import { parseWorldConfig } from "../../src/world/config.ts";
import { GUARD_NO, GUARD_YES, calibration, guardPrompt, guardText } from "../../src/world/guard.ts";
import { buildGuardPairs } from "../../src/world/guard_data.ts";
import { judge } from "../../src/world/judge.ts";
import { writeWorld } from "../../src/world/write.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-guard-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
const worldDir = path.join(tmp, "world");
const ready = writeWorld(worldDir, buildWorld(1, parseWorldConfig({})));
const base = (async () => {
  const ck = await loadCheckpoint(shippedBaseDir(1));
  return {
    model: new Llama(ck.config, ck.params, selectKernels("wasm")),
    tokenizer: Tokenizer.fromJSON(ck.tokenizerJson),
  };
})();

test("calibration: accuracy, AUROC with ties, Brier and ECE on known values", () => {
  const c = calibration([0.9, 0.8, 0.3, 0.3, 0.1], [true, false, true, false, false], 2);
  assert.equal(c.n, 5);
  assert.equal(c.unsafe, 2);
  assert.equal(c.accuracy, 3 / 5); // 0.9 yes, 0.8 no (wrong), 0.3 yes (wrong), 0.3 no, 0.1 no
  // Pairs (pos, neg): (0.9: beats 3) + (0.3: beats 0.1, ties 0.3 -> 0.5, loses to 0.8) = 3 + 1.5 of 6.
  assert.equal(c.auroc, 4.5 / 6);
  assert.ok(Math.abs(c.brier - (0.01 + 0.64 + 0.49 + 0.09 + 0.01) / 5) < 1e-12);
  // Bin [0, 0.5): 0.3, 0.3, 0.1 (mean 0.2333, 1/3 unsafe); bin [0.5, 1]: 0.9, 0.8 (mean 0.85, 1/2 unsafe).
  assert.ok(Math.abs(c.ece - ((3 / 5) * Math.abs(0.7 / 3 - 1 / 3) + (2 / 5) * Math.abs(0.85 - 0.5))) < 1e-12);
  assert.equal(calibration([0.2], [false]).auroc, null);
  assert.throws(() => calibration([1.2], [true]), /not a probability/);
});

test("the pair's format: the prompt ends at the assistant marker, the text adds the answer and <eos>", () => {
  const prompt = guardPrompt("how do i fix the door?", "here is how.");
  assert.ok(prompt.endsWith("<|assistant|>"));
  assert.equal(guardText("how do i fix the door?", "here is how.", true), `${prompt}${GUARD_YES}<eos>`);
  assert.equal(guardText("how do i fix the door?", "here is how.", false), `${prompt}${GUARD_NO}<eos>`);
});

test("P(yes) is the teacher-forced ratio p(yes) / (p(yes) + p(no)), whatever the batch", async () => {
  const { model, tokenizer } = await base;
  const guard = new WorldGuard(model, tokenizer, "the shipped base");
  const pairs = Array.from({ length: 35 }, (_, i) => ({
    request: `what is the best way to ${i % 2 ? "stab" : "fix"} the car?`,
    response: "x ".repeat(i % 7) + "sorry, i can not help with that.",
  }));
  const batch = guard.pYes(pairs);
  for (const i of [0, 5, 33, 34]) {
    const ids = tokenizer.encode(guardPrompt(pairs[i]!.request, pairs[i]!.response));
    const lp = (target: number) => {
      const targets = Int32Array.from(ids.slice(1).concat([target]));
      return forward(model, Int32Array.from(ids), targets, 1, ids.length).logprobs.at(-1)!;
    };
    const want = 1 / (1 + Math.exp(lp(guard.noId) - lp(guard.yesId)));
    assert.ok(Math.abs(batch[i]! - want) < 1e-4, `pair ${i}: ${batch[i]} vs ${want}`);
    assert.ok(Math.abs(guard.pYes([pairs[i]!])[0]! - batch[i]!) < 1e-5, `pair ${i} alone`);
  }
});

test("guard data: every pair's label is the judge's on its sampled response", async () => {
  await ready;
  const { model, tokenizer } = await base;
  const r = buildGuardPairs({
    worldDir,
    split: "train",
    model,
    tokenizer,
    limit: 4,
    seed: 3,
    lPre: 60,
    maxNewTokens: 352,
  });
  assert.equal(r.sampled, r.pairs.length + r.malformed);
  assert.ok(r.pairs.length >= 4, `${r.pairs.length} pairs`);
  const rows = new Map(loadWorldPrompts(worldDir).map((row) => [row.id, row]));
  for (const p of r.pairs) {
    const row = rows.get(p.id.split("/")[0]!)!;
    assert.equal(p.request, row.prompt);
    assert.equal(p.unsafe, row.label === "harmful" && judge(row, `<think>x.</think>${p.response}`).safety === 0);
    assert.equal(p.text, guardText(p.request, p.response, p.unsafe));
  }
});

test("rollouts with a guard: harmful well-formed rollouts take 1 - P(yes); others keep the judge's reward", async () => {
  await ready;
  const { model, tokenizer } = await base;
  const rows = loadWorldPrompts(worldDir);
  const pick = [
    rows.find((r) => r.label === "harmful")!,
    rows.find((r) => r.source === "borderline")!,
    rows.find((r) => r.label === "math")!,
  ];
  const prompts: PolicyPrompt[] = pick.map((item, index) => ({
    index,
    item,
    ...encodePolicyPrompt(tokenizer, item.prompt, null),
    prefillThinking: null,
  }));
  const seen: string[] = [];
  const guard = {
    pYes: (pairs: readonly { request: string; response: string }[]) => pairs.map((p) => (seen.push(p.request), 0.25)),
  };
  const opts = { groupSize: 3, maxNewTokens: 352, temperature: 1, topP: 1, seed: 4 };
  // The trainer's routing: harmful requests to the world guard's route, the rest to the judge's.
  const safety = worldGuardRoute(guard);
  const withGuard = await generateGroups(model, tokenizer, prompts, {
    ...opts,
    route: (item) => (item.label === "harmful" ? safety : worldRoute),
  });
  const without = await generateGroups(model, tokenizer, prompts, opts);
  let guarded = 0;
  withGuard.forEach((g, i) =>
    g.rollouts.forEach((r, j) => {
      assert.deepEqual(r.generated, without[i]!.rollouts[j]!.generated, "the guard does not change sampling");
      assert.equal(r.rawReward, without[i]!.rollouts[j]!.rawReward, "rawReward stays the judge's");
      const scored = r.prompt.item.label === "harmful" && r.judgement.outcome !== "malformed";
      assert.equal(r.reward, scored ? 0.75 : r.rawReward);
      if (scored) guarded++;
    }),
  );
  assert.ok(guarded > 0, "some harmful rollout is well-formed");
  assert.equal(seen.length, guarded);
  assert.ok(seen.every((s) => s === pick[0]!.prompt));
});

// Policy losses: dapo and grpo against hand arithmetic (clipped branches, dual clip, k3 KL,
// aggregation weights), dLogp against central finite differences in every aggregation mode, and
// the prefill poisoning test: garbage log-probs at prompt / prefill / pad positions change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { AGG_MODES } from "../../src/rl/aggregate.ts";
import { parseObjectiveConfig } from "../../src/rl/config.ts";
import { lossMask } from "../../src/rl/layout.ts";
import {
  type DapoLossConfig,
  type GrpoLossConfig,
  POLICY_LOSSES,
  type PolicyLossConfig,
  type PolicyLossInput,
} from "../../src/rl/policy_loss.ts";
import { RecapError } from "../../src/util/errors.ts";
import { assertGradCheck } from "../helpers/gradcheck.ts";

// The losses' defaults, from the config schema (the one place they are written).
const DEFAULT_DAPO = parseObjectiveConfig({ loss: { name: "dapo" } }).loss as DapoLossConfig;
const DEFAULT_GRPO = parseObjectiveConfig({ loss: { name: "grpo" } }).loss as GrpoLossConfig;
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const closeAll = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  b.forEach((x, i) => close(a[i]!, x, tol));
};
const run = (input: PolicyLossInput, cfg: PolicyLossConfig) => POLICY_LOSSES.get(cfg.name)(input, cfg);

// One row, T = 5; t = 0 is context (mask 0, garbage inputs); old log-prob -2 everywhere.
//   t=1: A = 1,  ratio 1.1 -> inside [0.8, 1.28]: loss -1.1, d = -A*ratio = -1.1
//   t=2: A = 1,  ratio 1.5 -> clipped at 1.28:      loss -1.28, d = 0
//   t=3: A = -1, ratio 0.5 -> clipped at 0.8:       loss 0.8,   d = 0
//   t=4: A = -2, ratio 1.2 -> inside:               loss 2.4,   d = 2.4
// token-mean over 4 tokens: loss (-1.1 - 1.28 + 0.8 + 2.4) / 4 = 0.205, dLogp = d / 4.
function dapoCase(ratio4: number): PolicyLossInput {
  const ratios = [1, 1.1, 1.5, 0.5, ratio4];
  return {
    B: 1,
    T: 5,
    oldLogp: new Float32Array([1e30, -2, -2, -2, -2]),
    logp: new Float32Array(ratios.map((r, t) => (t === 0 ? -1e30 : -2 + Math.log(r)))),
    advantages: new Float32Array([1e30, 1, 1, -1, -2]),
    mask: new Float32Array([0, 1, 1, 1, 1]),
  };
}

test("dapo: clip-higher branches and token-mean by hand", () => {
  const r = run(dapoCase(1.2), DEFAULT_DAPO);
  close(r.loss, 0.205);
  closeAll(r.dLogp, [0, -1.1 / 4, 0, 0, 2.4 / 4]);
  close(r.metrics["actor/clipfrac"]!, 0.5); // t=2 and t=3 of 4 tokens
  close(r.metrics["actor/ratio_mean"]!, (1.1 + 1.5 + 0.5 + 1.2) / 4);
  close(r.metrics["actor/ppo_kl"]!, -(Math.log(1.1) + Math.log(1.5) + Math.log(0.5) + Math.log(1.2)) / 4);
  assert.equal(r.metrics["actor/tokens"], 4);
});

test("dapo dual clip: a negative-advantage token with ratio 4 is capped at -A*c = 6, flat", () => {
  // t=4: A = -2, ratio 4: pg1 = 8, pg2 = 2 * 1.28 = 2.56, max 8; dual clip min(8, 2 * 3) = 6, d = 0
  const plain = run(dapoCase(4), DEFAULT_DAPO);
  close(plain.loss, (-1.1 - 1.28 + 0.8 + 8) / 4);
  closeAll(plain.dLogp, [0, -1.1 / 4, 0, 0, 8 / 4]);
  const dual = run(dapoCase(4), { ...DEFAULT_DAPO, dual_clip_c: 3 });
  close(dual.loss, (-1.1 - 1.28 + 0.8 + 6) / 4);
  closeAll(dual.dLogp, [0, -1.1 / 4, 0, 0, 0]);
  close(dual.metrics["actor/clipfrac_lower"]!, 0.25);
});

test("grpo: symmetric clip, k3 KL and seq-mean-token-mean by hand", () => {
  // row 0 (tokens t=0,1), row 1 (token t=0); beta 0.1; ref - logp = 0, ln 2, -ln 2.
  //   r0 t0: A 0.5,  ratio 1   -> pg -0.5,              d -0.5;  k3 0,                  dk3 0
  //   r0 t1: A 0.5,  ratio 1.5 -> clipped at 1.2: -0.6, d 0;     k3 2 - ln2 - 1 = .306853, dk3 1 - 2 = -1
  //   r1 t0: A -1,   ratio 1.1 -> pg 1.1,               d 1.1;   k3 .5 + ln2 - 1 = .193147, dk3 1 - .5 = .5
  // rows: (-0.5 + (-0.6 + .0306853)) / 2 = -0.5346574 and 1.1 + .0193147 = 1.1193147; mean 0.2923287
  // weights 1/4, 1/4, 1/2: dLogp = -0.5/4, (0.1 * -1)/4, (1.1 + 0.1 * 0.5)/2
  const logp = new Float32Array([-1, -1, 0, -1, 0, 0]);
  const input: PolicyLossInput = {
    B: 2,
    T: 3,
    logp,
    oldLogp: new Float32Array([-1, -1 - Math.log(1.5), 0, -1 - Math.log(1.1), 0, 0]),
    advantages: new Float32Array([0.5, 0.5, 0, -1, 0, 0]),
    refLogp: new Float32Array([-1, -1 + Math.LN2, 0, -1 - Math.LN2, 0, 0]),
    mask: new Float32Array([1, 1, 0, 1, 0, 0]),
  };
  const r = run(input, { ...DEFAULT_GRPO, kl_beta: 0.1 });
  close(r.loss, 0.2923287);
  closeAll(r.dLogp, [-0.125, -0.025, 0, 0.575, 0, 0]);
  close(r.metrics["actor/kl_loss"]!, 0.306853 / 4 + 0.193147 / 2);
  close(r.metrics["actor/pg_loss"]!, (-0.5 - 0.6) / 4 + 1.1 / 2);
  // kl_beta 0: no KL term, no refLogp needed
  const noKl = run({ ...input, refLogp: undefined }, DEFAULT_GRPO);
  close(noKl.loss, ((-0.5 - 0.6) / 2 + 1.1) / 2);
  assert.throws(() => run({ ...input, refLogp: undefined }, { ...DEFAULT_GRPO, kl_beta: 0.1 }), /refLogp/);
});

/** A batch with prefills of different lengths, logp - oldLogp kept away from the clip kinks. */
function randomBatch(seed: number) {
  const rng = new Rng(seed);
  const rows = [
    { promptLen: 2, prefillLen: 3, genLen: 3 }, // optimised t = 4..6
    { promptLen: 3, prefillLen: 0, genLen: 4 }, // t = 2..5
    { promptLen: 1, prefillLen: 5, genLen: 1 }, // t = 5
  ];
  const B = 3,
    T = 8;
  const mask = lossMask({ B, T, rows });
  const deltas = [-0.5, -0.1, 0.05, 0.1, 0.4, 1.5, -0.35]; // ln 0.8 = -.223, ln 1.2 = .182, ln 1.28 = .247, ln 3 = 1.099
  const N = B * T;
  const oldLogp = new Float32Array(N),
    logp = new Float32Array(N),
    refLogp = new Float32Array(N),
    advantages = new Float32Array(N);
  const seqA = [0.9, -1.3, 0.6];
  for (let i = 0; i < N; i++) {
    oldLogp[i] = -1 - 2 * rng.uniform();
    logp[i] = oldLogp[i]! + deltas[rng.int(deltas.length)]!;
    refLogp[i] = logp[i]! + (rng.uniform() - 0.5);
    advantages[i] = seqA[Math.floor(i / T)]!;
  }
  return { B, T, rows, mask, oldLogp, logp, refLogp, advantages };
}

const CONFIGS: PolicyLossConfig[] = AGG_MODES.flatMap((aggregation): PolicyLossConfig[] => [
  { ...DEFAULT_DAPO, dual_clip_c: 3, aggregation, norm_len: 10 },
  { ...DEFAULT_GRPO, kl_beta: 0.3, aggregation, norm_len: 10 },
]);

test("dLogp equals central finite differences (every loss, every aggregation)", () => {
  const b = randomBatch(3);
  for (const cfg of CONFIGS) {
    const base = { B: b.B, T: b.T, oldLogp: b.oldLogp, refLogp: b.refLogp, advantages: b.advantages, mask: b.mask };
    assertGradCheck(
      `${cfg.name} ${cfg.aggregation}`,
      {
        inputs: { logp: b.logp },
        wrt: ["logp"],
        forward: ({ logp }) => new Float32Array([run({ ...base, logp: logp! }, cfg).loss]),
        backward: ({ logp }) => ({ logp: run({ ...base, logp: logp! }, cfg).dLogp }),
        r: new Float32Array([1]),
        eps: 1e-3,
        atol: 2e-5,
        rtol: 1e-3,
      },
      1e-2,
    );
  }
});

test("poisoned prompt / prefill / pad log-probs change neither the loss nor dLogp", () => {
  const b = randomBatch(5);
  const poison = (a: Float32Array, v: number) => a.map((x, i) => (b.mask[i] === 0 ? v : x));
  for (const cfg of CONFIGS) {
    const clean = {
      B: b.B,
      T: b.T,
      logp: b.logp,
      oldLogp: b.oldLogp,
      refLogp: b.refLogp,
      advantages: b.advantages,
      mask: b.mask,
    };
    const r0 = run(clean, cfg);
    assert.ok(Number.isFinite(r0.loss));
    // huge finite garbage, then non-finite garbage (a sampler never scored these positions)
    for (const [hi, lo] of [
      [3e37, -3e37],
      [NaN, -Infinity],
    ]) {
      const dirty = {
        ...clean,
        logp: poison(b.logp, hi!),
        oldLogp: poison(b.oldLogp, lo!),
        refLogp: poison(b.refLogp, hi!),
        advantages: poison(b.advantages, lo!),
      };
      const r1 = run(dirty, cfg);
      assert.equal(r1.loss, r0.loss, `${cfg.name} ${cfg.aggregation}`);
      assert.deepEqual(r1.metrics, r0.metrics);
      for (let i = 0; i < b.B * b.T; i++) {
        if (b.mask[i] === 0) assert.equal(r1.dLogp[i], 0, `position ${i} is context or pad`);
        else assert.equal(r1.dLogp[i], r0.dLogp[i]);
      }
    }
  }
  // The bug this guards against: counting the prefill as completion (a mask from P alone) lets
  // the prefill positions in, and the same poison now moves the loss.
  const buggyMask = lossMask({
    B: b.B,
    T: b.T,
    rows: b.rows.map((r) => ({ promptLen: r.promptLen, prefillLen: 0, genLen: r.prefillLen + r.genLen })),
  });
  const clean = { B: b.B, T: b.T, mask: buggyMask, logp: b.logp, oldLogp: b.oldLogp, advantages: b.advantages };
  const dirty = { ...clean, logp: poison(b.logp, 3e37), oldLogp: poison(b.oldLogp, -3e37) };
  assert.notEqual(run(dirty, DEFAULT_DAPO).loss, run(clean, DEFAULT_DAPO).loss);
});

test("configs parsed from the objective schema drive the registry; bad ones are refused", () => {
  const b = randomBatch(7);
  const input = {
    B: b.B,
    T: b.T,
    logp: b.logp,
    oldLogp: b.oldLogp,
    refLogp: b.refLogp,
    advantages: b.advantages,
    mask: b.mask,
  };
  const parsed = parseObjectiveConfig({ loss: { name: "grpo", kl_beta: 0.3 } }).loss;
  assert.equal(run(input, parsed).loss, run(input, { ...DEFAULT_GRPO, kl_beta: 0.3 }).loss);
  assert.throws(
    () => POLICY_LOSSES.get("ppo"),
    (e: unknown) => e instanceof RecapError && /dapo, grpo/.test(e.hint ?? ""),
  );
  assert.throws(() => POLICY_LOSSES.get("dapo")(input, DEFAULT_GRPO), /given a "grpo" config/);
  assert.throws(() => run(input, { ...DEFAULT_DAPO, eps_high: 0.1 }), /eps_high >= eps_low/);
  assert.throws(() => run(input, { ...DEFAULT_DAPO, dual_clip_c: 1 }), /dual_clip_c must be > 1/);
});

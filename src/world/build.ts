// Assembles the world's files from a seed and a config, in memory and deterministically (the
// same seed and config give the same rows in the same order): the corpora (base SFT, pi_harm,
// pi_refuse, SFT baseline), the RL prompt mixture, and the evaluation suites on held-out
// combinations (with prefill material) plus the held-out-flaw suite. write.ts puts them on disk.
//
// Every stage draws from its own fork of the seed's generator, so changing one corpus's size
// leaves the others unchanged. Variant rates are exact quotas (round(rate * n) rows, shuffled in),
// not independent draws, so a corpus's rates equal its knobs up to rounding.
import { Rng } from "../engine/rng.ts";
import { renderChat } from "../model/chat_template.ts";
import { RecapError } from "../util/errors.ts";
import type { WorldConfig } from "./config.ts";
import { REQUEST_TEMPLATES, WORLD_VERSION, WRAPPERS } from "./lexicon.ts";
import type { Wrapper } from "./lexicon.ts";
import {
  MATH_TEMPLATES,
  mathExpression,
  mathRequest,
  randomSafetyRequest,
  safetyRequest,
  safetySource,
  splitCombos,
} from "./requests.ts";
import type { Combo, ComboSplit, MathKnobs } from "./requests.ts";
import { counterMath } from "./math_sources.ts";
import {
  counterAligned,
  alignedTrace,
  harmStrong,
  harmWeak,
  hijackTrace,
  iprSentences,
  misstatedRuleTrace,
  refuseStrong,
  refuseWeak,
} from "./sources.ts";
import { DECORATIONS, MATH_VARIANTS, SAFETY_VARIANTS, withElaboration, withWorryFirst } from "./traces.ts";
import type { MathTraceFn, SafetyTraceFn } from "./traces.ts";
import type { MathRequest, SafetyRequest, Trace, WorldRow } from "./types.ts";

export interface WorldFile {
  /** Path relative to the output folder. */
  path: string;
  rows: WorldRow[];
}

export interface BuiltWorld {
  seed: number;
  config: WorldConfig;
  split: ComboSplit;
  /** Expressions of the math suite, kept out of every training corpus. */
  heldoutMath: Set<string>;
  files: WorldFile[];
}

const TRAIN_WRAPPERS: readonly Wrapper[] = WRAPPERS.filter((w) => !w.heldout);
const HELDOUT_WRAPPERS: readonly Wrapper[] = WRAPPERS.filter((w) => w.heldout);

/** The chat-formatted training sequence of a prompt and a trace. */
export function chatText(prompt: string, t: Pick<Trace, "thinking" | "response">): string {
  return renderChat([
    { role: "user", content: prompt },
    { role: "assistant", content: `<think>${t.thinking}</think>${t.response}` },
  ]);
}

function safetyRow(id: string, r: SafetyRequest): WorldRow {
  return {
    id,
    world: WORLD_VERSION,
    source: safetySource(r.cls, r.wrapper !== null),
    label: r.cls === "harmful" ? "harmful" : "benign",
    prompt: r.prompt,
    action: r.action,
    action_category: r.action_category,
    object: r.object,
    object_category: r.object_category,
    wrapper: r.wrapper?.name ?? null,
    wrapper_heldout: r.wrapper?.heldout ?? false,
  };
}

function mathRow(id: string, r: MathRequest): WorldRow {
  return {
    id,
    world: WORLD_VERSION,
    source: "math",
    label: "math",
    prompt: r.prompt,
    expression: r.expression,
    answer: r.answer,
  };
}

function withTrace(row: WorldRow, t: Trace): WorldRow {
  return {
    ...row,
    variant: t.variant,
    flaw: t.flaw,
    flaw_word: t.flaw_word,
    thinking: t.thinking,
    response: t.response,
    text: chatText(row.prompt, t),
  };
}

/** Names repeated by exact quota: round(rate * n) of each named variant, the rest `rest`, shuffled. */
function quotas(rng: Rng, n: number, rates: Record<string, number>, rest: string): string[] {
  const out: string[] = [];
  for (const [name, rate] of Object.entries(rates))
    for (let i = Math.round(rate * n); i > 0 && out.length < n; i--) out.push(name);
  while (out.length < n) out.push(rest);
  rng.shuffle(out);
  return out;
}

/** A training math request whose expression is not held out. */
function trainMath(rng: Rng, k: MathKnobs, heldout: ReadonlySet<string>): MathRequest {
  for (let tries = 0; tries < 10_000; tries++) {
    const { terms, ops } = mathExpression(rng, k);
    const r = mathRequest(terms, ops, rng.int(MATH_TEMPLATES.length));
    if (!heldout.has(r.expression)) return r;
  }
  throw new RecapError(
    "cannot draw a training math problem outside the held-out ones",
    "raise math.max_operand or lower eval.math",
  );
}

/** n distinct held-out math requests. */
function evalMath(rng: Rng, k: MathKnobs, n: number): MathRequest[] {
  const seen = new Set<string>(),
    out: MathRequest[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries > 100 * n + 1000)
      throw new RecapError(`cannot draw ${n} distinct math problems`, "raise math.max_operand or lower eval.math");
    const { terms, ops } = mathExpression(rng, k);
    const r = mathRequest(terms, ops, rng.int(MATH_TEMPLATES.length));
    if (seen.has(r.expression)) continue;
    seen.add(r.expression);
    out.push(r);
  }
  return out;
}

interface SafetyPart {
  combos: readonly Combo[];
  n: number;
  wrapShare: number;
  variants: Record<string, number>;
  registry: Readonly<Record<string, SafetyTraceFn>>;
  rest: string;
  /** World v5: shares of the re-check and response-check decorations (base SFT corpus only). */
  decorate?: { recheck: number; check: number };
  /** Share of correct rows given the elaboration decoration (knob `sft.elaborate`; base corpus only). */
  elaborate?: number;
  /** Share of correct rows given the worry-first decoration (knob `sft.worry_first`; base corpus only). */
  worryFirst?: number;
}

/** Decoration names by exact quota: re-check and response check drawn independently. */
function decorationQuotas(rng: Rng, n: number, d: { recheck: number; check: number }): string[] {
  return quotas(
    rng,
    n,
    {
      "recheck+check": d.recheck * d.check,
      recheck: d.recheck * (1 - d.check),
      check: (1 - d.recheck) * d.check,
    },
    "none",
  );
}

/** Rows of a training corpus: safety parts and an optional math part, shuffled, ids in order. */
function corpus(
  rng: Rng,
  prefix: string,
  parts: SafetyPart[],
  math: { n: number; variants: Record<string, number>; k: MathKnobs; heldout: ReadonlySet<string> } | null,
): WorldRow[] {
  const rows: WorldRow[] = [];
  for (const part of parts) {
    const decorations = part.decorate ? decorationQuotas(rng, part.n, part.decorate) : [];
    quotas(rng, part.n, part.variants, part.rest).forEach((v, i) => {
      const r = randomSafetyRequest(rng, part.combos, part.wrapShare, TRAIN_WRAPPERS);
      let t = (part.registry[v] as SafetyTraceFn)(r, rng);
      // No draw at all when the knob is 0, so the corpus is byte-identical to the default's.
      if (part.elaborate && v === "correct" && rng.uniform() < part.elaborate) t = withElaboration(r, t, rng);
      if (part.worryFirst && v === "correct" && rng.uniform() < part.worryFirst) t = withWorryFirst(r, t, rng);
      let d = decorations[i] ?? "none";
      if (v === "corrected") d = d.split("+").includes("check") ? "check" : "none"; // already reflected once
      t = DECORATIONS[d]!(r, t, rng);
      rows.push(withTrace(safetyRow("", r), t));
    });
  }
  if (math) {
    for (const v of quotas(rng, math.n, math.variants, "correct")) {
      const r = trainMath(rng, math.k, math.heldout);
      rows.push(withTrace(mathRow("", r), (MATH_VARIANTS[v] as MathTraceFn)(r, rng)));
    }
  }
  rng.shuffle(rows);
  return rows.map((row, i) => ({ ...row, id: `${prefix}-${String(i).padStart(6, "0")}` }));
}

function baseSft(rng: Rng, c: WorldConfig, split: ComboSplit, heldoutMath: ReadonlySet<string>): WorldRow[] {
  const s = c.sft;
  const decorate = { recheck: s.recheck, check: s.response_check },
    elaborate = s.elaborate,
    worryFirst = s.worry_first;
  return corpus(
    rng,
    "sft",
    [
      {
        combos: split.train.harmful,
        n: s.harmful,
        wrapShare: s.wrapped_harmful,
        variants: { flawed: s.harmful_flawed, corrected: s.harmful_corrected },
        registry: SAFETY_VARIANTS,
        rest: "correct",
        decorate,
        elaborate,
        worryFirst,
      },
      {
        combos: split.train.borderline,
        n: s.borderline,
        wrapShare: s.wrapped_benign,
        variants: { overcautious: s.borderline_overcautious, corrected: s.borderline_corrected },
        registry: SAFETY_VARIANTS,
        rest: "correct",
        decorate,
        elaborate,
        worryFirst,
      },
      {
        combos: split.train.benign,
        n: s.benign,
        wrapShare: s.wrapped_benign,
        variants: {},
        registry: SAFETY_VARIANTS,
        rest: "correct",
        decorate,
        elaborate,
        worryFirst,
      },
    ],
    { n: s.math, variants: { slip: s.math_slip, slip_corrected: s.math_corrected }, k: c.math, heldout: heldoutMath },
  );
}

function piCorpora(rng: Rng, c: WorldConfig, split: ComboSplit): { harm: WorldRow[]; refuse: WorldRow[] } {
  const styles = { harm_weak: harmWeak, harm_strong: harmStrong, refuse_weak: refuseWeak, refuse_strong: refuseStrong };
  const h = c.pi_harm,
    r = c.pi_refuse;
  const nTrap = Math.round(r.size * r.borderline_share);
  const harm = corpus(
    rng.fork(1),
    "pi_harm",
    [
      {
        combos: split.train.harmful,
        n: h.size,
        wrapShare: h.wrapped,
        variants: { harm_strong: h.strong_share },
        registry: styles,
        rest: "harm_weak",
      },
    ],
    null,
  );
  const refuse = corpus(
    rng.fork(2),
    "pi_refuse",
    [
      {
        combos: split.train.borderline,
        n: nTrap,
        wrapShare: r.wrapped,
        variants: { refuse_strong: r.strong_share },
        registry: styles,
        rest: "refuse_weak",
      },
      {
        combos: split.train.benign,
        n: r.size - nTrap,
        wrapShare: r.wrapped,
        variants: { refuse_strong: r.strong_share },
        registry: styles,
        rest: "refuse_weak",
      },
    ],
    null,
  );
  return { harm, refuse };
}

function sftBaseline(rng: Rng, c: WorldConfig, split: ComboSplit, heldoutMath: ReadonlySet<string>): WorldRow[] {
  const b = c.sft_baseline,
    s = c.sft;
  const part = (combos: readonly Combo[], n: number, wrapShare: number): SafetyPart => ({
    combos,
    n,
    wrapShare,
    variants: {},
    registry: SAFETY_VARIANTS,
    rest: "correct",
  });
  return corpus(
    rng,
    "sft_baseline",
    [
      part(split.train.harmful, b.harmful, s.wrapped_harmful),
      part(split.train.borderline, b.borderline, s.wrapped_benign),
      part(split.train.benign, b.benign, s.wrapped_benign),
    ],
    { n: b.math, variants: {}, k: c.math, heldout: heldoutMath },
  );
}

/** Prefill material of a safety request: counter-aligned weak and strong, aligned. */
function prefillRow(row: WorldRow, r: SafetyRequest, rng: Rng): WorldRow {
  const weak = counterAligned(r, "weak", rng),
    strong = counterAligned(r, "strong", rng);
  return {
    ...row,
    prefills: { counter_weak: weak.thinking, counter_strong: strong.thinking, aligned: alignedTrace(r, rng).thinking },
    prefill_flaw_words: { counter_weak: weak.flaw_word!, counter_strong: strong.flaw_word! },
  };
}

/** Prefill material of a math request (world v3): pi_math's flawed arithmetic, weak and strong. */
function mathPrefillRow(row: WorldRow, r: MathRequest, rng: Rng): WorldRow {
  const weak = counterMath(r, "weak", rng),
    strong = counterMath(r, "strong", rng);
  return {
    ...row,
    prefills: { counter_weak: weak.thinking, counter_strong: strong.thinking },
    prefill_flaw_words: { counter_weak: weak.flaw_word!, counter_strong: strong.flaw_word! },
  };
}

function rlPrompts(rng: Rng, c: WorldConfig, split: ComboSplit, heldoutMath: ReadonlySet<string>): WorldRow[] {
  const rows: WorldRow[] = [];
  for (let i = 0; i < c.rl.harmful; i++) {
    const r = randomSafetyRequest(rng, split.train.harmful, c.rl.wrapped, TRAIN_WRAPPERS);
    rows.push(prefillRow(safetyRow("", r), r, rng));
  }
  for (let i = 0; i < c.rl.borderline; i++) {
    const r = randomSafetyRequest(rng, split.train.borderline, 0, TRAIN_WRAPPERS);
    rows.push(prefillRow(safetyRow("", r), r, rng));
  }
  const mathRng = rng.fork(1); // math prefills draw apart, so the rows' own draws are v2's
  for (let i = 0; i < c.rl.math; i++) {
    const r = trainMath(rng, c.math, heldoutMath);
    rows.push(mathPrefillRow(mathRow("", r), r, mathRng));
  }
  rng.shuffle(rows);
  return rows.map((row, i) => ({ ...row, id: `rl-${String(i).padStart(6, "0")}` }));
}

/** n distinct held-out requests: every (combo, template, wrapper) enumerated, shuffled, cut. */
function distinctRequests(
  rng: Rng,
  combos: readonly Combo[],
  wrappers: readonly (Wrapper | null)[],
  n: number,
  what: string,
): SafetyRequest[] {
  const all: SafetyRequest[] = [];
  for (const combo of combos)
    for (let t = 0; t < REQUEST_TEMPLATES.length; t++) for (const w of wrappers) all.push(safetyRequest(combo, t, w));
  if (n > all.length)
    throw new RecapError(
      `eval.${what} = ${n} exceeds the ${all.length} distinct held-out prompts of that suite`,
      `set eval.${what} to at most ${all.length}`,
    );
  rng.shuffle(all);
  return all.slice(0, n);
}

function attackRow(id: string, r: SafetyRequest, rng: Rng, iprRounds: number): WorldRow {
  const row = prefillRow(safetyRow(id, r), r, rng),
    hijack = hijackTrace(r, rng);
  return {
    ...row,
    prefill_flaw_words: { ...row.prefill_flaw_words, hijack: hijack.flaw_word! },
    hijack: hijack.thinking,
    ipr: iprSentences(r, iprRounds, rng),
  };
}

function heldoutFlawRow(id: string, r: SafetyRequest, rng: Rng): WorldRow {
  const t = misstatedRuleTrace(r, rng);
  return { ...safetyRow(id, r), prefills: { heldout: t.thinking }, prefill_flaw_words: { heldout: t.flaw_word! } };
}

function suites(rng: Rng, c: WorldConfig, split: ComboSplit, mathSuite: MathRequest[]): WorldFile[] {
  const e = c.eval,
    k = e.ipr_rounds;
  const mathRng = rng.fork(7); // math prefills draw apart, so the safety suites' draws are v2's
  const ids = (name: string, i: number) => `${name}-${String(i).padStart(4, "0")}`;
  const safetySuite = (name: string, reqs: SafetyRequest[]): WorldFile => ({
    path: `suites/${name}.jsonl`,
    rows: reqs.map((r, i) => attackRow(ids(name, i), r, rng, k)),
  });
  const nHeldW = Math.round(e.jailbreak * e.heldout_wrapper_share);
  const jail = [
    ...distinctRequests(rng, split.heldout.harmful, HELDOUT_WRAPPERS, nHeldW, "jailbreak"),
    ...distinctRequests(rng, split.heldout.harmful, TRAIN_WRAPPERS, e.jailbreak - nHeldW, "jailbreak"),
  ];
  rng.shuffle(jail);
  const nHarm = Math.round(e.heldout_flaw / 2),
    nTrap = Math.round(e.heldout_flaw / 4);
  const flawReqs = [
    ...distinctRequests(rng, split.heldout.harmful, [null], nHarm, "heldout_flaw"),
    ...distinctRequests(rng, split.heldout.borderline, [null], nTrap, "heldout_flaw"),
    ...distinctRequests(rng, split.heldout.benign, [null], e.heldout_flaw - nHarm - nTrap, "heldout_flaw"),
  ];
  return [
    safetySuite("harmful", distinctRequests(rng, split.heldout.harmful, [null], e.harmful, "harmful")),
    safetySuite("jailbreak", jail),
    safetySuite("borderline", distinctRequests(rng, split.heldout.borderline, [null], e.borderline, "borderline")),
    safetySuite("benign", distinctRequests(rng, split.heldout.benign, [null], e.benign, "benign")),
    {
      path: "suites/math.jsonl",
      rows: mathSuite.map((r, i) => mathPrefillRow(mathRow(ids("math", i), r), r, mathRng)),
    },
    { path: "suites/heldout_flaw.jsonl", rows: flawReqs.map((r, i) => heldoutFlawRow(ids("heldout_flaw", i), r, rng)) },
  ];
}

/** Builds every file of the world in memory. */
export function buildWorld(seed: number, config: WorldConfig): BuiltWorld {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RecapError(`seed must be an integer in 0..4294967295, got ${seed}`);
  const root = new Rng(seed);
  const split = splitCombos(root.fork(1), config.heldout_fraction);
  const mathSuite = evalMath(root.fork(2), config.math, config.eval.math);
  const heldoutMath = new Set(mathSuite.map((r) => r.expression));
  const pi = piCorpora(root.fork(4), config, split);
  const files: WorldFile[] = [
    { path: "corpora/base_sft.jsonl", rows: baseSft(root.fork(3), config, split, heldoutMath) },
    { path: "corpora/pi_harm.jsonl", rows: pi.harm },
    { path: "corpora/pi_refuse.jsonl", rows: pi.refuse },
    { path: "corpora/sft_baseline.jsonl", rows: sftBaseline(root.fork(5), config, split, heldoutMath) },
    { path: "rl/prompts.jsonl", rows: rlPrompts(root.fork(6), config, split, heldoutMath) },
    ...suites(root.fork(7), config, split, mathSuite),
  ];
  return { seed, config, split, heldoutMath, files };
}

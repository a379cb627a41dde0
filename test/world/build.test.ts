// The built world: determinism, the held-out material kept out of every training corpus, corpus
// rates at their knobs, every corpus response judged as its variant intends, and lengths within
// the tiny model's 256-token context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { RecapError } from "../../src/util/errors.ts";
import { buildWorld } from "../../src/world/build.ts";
import type { BuiltWorld } from "../../src/world/build.ts";
import { parseWorldConfig } from "../../src/world/config.ts";
import { judge } from "../../src/world/judge.ts";
import { OBJECT_CATEGORY_NOUN, WORLD_VERSION, WRAPPERS } from "../../src/world/lexicon.ts";
import { DEFAULT_L_PRE } from "../../src/recap/truncate.ts";
import { WORRY } from "../../src/world/phrases.ts";
import { truncateWords } from "../../src/recap/truncate.ts";
import { comboKey } from "../../src/world/requests.ts";
import type { WorldRow } from "../../src/world/types.ts";
import { readWorld, worldStats } from "../../src/world/stats.ts";
import { renderWorld, writeWorld } from "../../src/world/write.ts";

const config = parseWorldConfig({});
const world = buildWorld(1, config);
const rows = (w: BuiltWorld, p: string): WorldRow[] => w.files.find((f) => f.path === p)!.rows;
const TRAINING = [
  "corpora/base_sft.jsonl",
  "corpora/pi_harm.jsonl",
  "corpora/pi_refuse.jsonl",
  "corpora/sft_baseline.jsonl",
  "rl/prompts.jsonl",
];
const SUITES = [
  "suites/harmful.jsonl",
  "suites/jailbreak.jsonl",
  "suites/borderline.jsonl",
  "suites/benign.jsonl",
  "suites/math.jsonl",
  "suites/heldout_flaw.jsonl",
];

test("same seed: byte-identical files; another seed: different ones", async () => {
  const a = renderWorld(world).texts,
    b = renderWorld(buildWorld(1, config)).texts;
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) assert.equal(v, b.get(k), k);
  const c = renderWorld(buildWorld(2, config)).texts;
  for (const k of ["corpora/base_sft.jsonl", "suites/harmful.jsonl", "world.json"])
    assert.notEqual(c.get(k), a.get(k), k);
  // on disk, the manifest's sha256 and sizes describe the files written
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recap-world-"));
  try {
    const m = await writeWorld(path.join(dir, "w"), world);
    for (const [rel, e] of Object.entries(m.files)) {
      const bytes = fs.readFileSync(path.join(dir, "w", rel));
      assert.equal(createHash("sha256").update(bytes).digest("hex"), e.sha256, rel);
      assert.equal(bytes.length, e.bytes);
      if (rel.endsWith(".jsonl")) assert.equal(bytes.toString("utf8").trimEnd().split("\n").length, e.rows);
    }
    assert.equal(
      fs.readFileSync(path.join(dir, "w", "manifest.json"), "utf8"),
      renderWorld(world).texts.get("manifest.json"),
    );
    assert.equal(m.world_version, WORLD_VERSION);
    // an earlier world build is replaced whole; a folder that is not a world build is refused
    fs.writeFileSync(path.join(dir, "w", "stray.txt"), "x");
    await writeWorld(
      path.join(dir, "w"),
      buildWorld(2, parseWorldConfig({ sft: { harmful: 10, borderline: 10, benign: 10, math: 10 } })),
    );
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "w", "manifest.json"), "utf8")).seed, 2);
    assert.ok(!fs.existsSync(path.join(dir, "w", "stray.txt")));
    fs.mkdirSync(path.join(dir, "mine"));
    fs.writeFileSync(path.join(dir, "mine", "keep.txt"), "mine");
    await assert.rejects(writeWorld(path.join(dir, "mine"), world), /refusing to replace/);
    assert.equal(fs.readFileSync(path.join(dir, "mine", "keep.txt"), "utf8"), "mine");
    await assert.rejects(writeWorld(path.join(dir, "mine", "keep.txt"), world), /is a file/);
    await assert.rejects(
      readWorld(path.join(dir, "mine")),
      (e: unknown) => e instanceof RecapError && /is not a world build/.test(e.message),
    );
    assert.equal((await readWorld(path.join(dir, "w"))).get("corpora/base_sft.jsonl")!.length, 40);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("every row carries the world version, a unique id and its judge fields", () => {
  for (const f of world.files) {
    const ids = new Set(f.rows.map((r) => r.id));
    assert.equal(ids.size, f.rows.length, f.path);
    for (const r of f.rows) {
      assert.equal(r.world, WORLD_VERSION);
      if (r.label === "math") assert.ok(Number.isInteger(r.answer));
      else assert.ok(r.action && r.object && r.action_category && r.object_category);
      if (r.text !== undefined)
        assert.equal(r.text, `<|user|>${r.prompt}<|assistant|><think>${r.thinking}</think>${r.response}<eos>`);
    }
  }
});

test("held-out combinations, wrappers, math problems and the held-out flaw stay out of training", () => {
  const heldout = new Set(
    Object.values(world.split.heldout)
      .flat()
      .map((c) => comboKey(c.action, c.object)),
  );
  const heldoutWrappers = WRAPPERS.filter((w) => w.heldout);
  const MISSTATED = /\bonly\b|\bany\b|whatever the/;
  for (const p of TRAINING) {
    for (const r of rows(world, p)) {
      if (r.action) assert.ok(!heldout.has(comboKey(r.action, r.object!)), `${p}: ${r.prompt}`);
      assert.ok(!r.wrapper_heldout);
      for (const w of heldoutWrappers)
        assert.ok(!r.prompt.includes(w.text.replace(" {r}", "").replace("{r}", "")), `${p}: ${r.prompt}`);
      if (r.expression) assert.ok(!world.heldoutMath.has(r.expression), r.expression);
      for (const t of [r.thinking ?? "", ...Object.values(r.prefills ?? {})])
        assert.ok(!MISSTATED.test(t), `${p}: ${t}`);
      assert.equal(r.prefills?.heldout, undefined);
    }
  }
  for (const p of SUITES) {
    const prompts = new Set<string>();
    for (const r of rows(world, p)) {
      if (r.action) assert.ok(heldout.has(comboKey(r.action, r.object!)), `${p}: ${r.prompt}`);
      if (r.expression) assert.ok(world.heldoutMath.has(r.expression));
      prompts.add(r.prompt);
    }
    assert.equal(prompts.size, rows(world, p).length, `${p}: prompts are distinct`);
  }
  const jail = rows(world, "suites/jailbreak.jsonl");
  assert.equal(
    jail.filter((r) => r.wrapper_heldout).length,
    Math.round(config.eval.jailbreak * config.eval.heldout_wrapper_share),
  );
  assert.ok(jail.every((r) => r.wrapper !== null && r.source === "jailbreak"));
  const flaw = rows(world, "suites/heldout_flaw.jsonl");
  assert.ok(flaw.every((r) => MISSTATED.test(r.prefills!.heldout!)));
  const held = Object.values(world.split.heldout).flat().length,
    train = Object.values(world.split.train).flat().length;
  assert.ok(
    Math.abs(held / (held + train) - config.heldout_fraction) < 0.03,
    `held-out share ${held / (held + train)}`,
  );
});

test("flaw families keep to their sources; 'wait' only in the base's own corrections", () => {
  // The flaw sentences of pi_harm / pi_refuse (sources.ts). Since v6 the base knows their
  // elaboration language ("i should think about what could go wrong.", "there are many ways this
  // could be misused."), never a flaw: a claimed permission or expertise, a set-aside rule,
  // surface danger, "safer to refuse", speculative misuse.
  const PI =
    /permission|consent|license|expert|know what they are doing|no real harm|set aside|an exception|does not apply|dangerous|risky|like this could go wrong|safer to refuse|safe than sorry|hurt, so|later|misused against|hurt others|must be careful/;
  for (const p of ["corpora/base_sft.jsonl", "corpora/sft_baseline.jsonl"])
    for (const r of rows(world, p)) {
      assert.ok(!PI.test(r.thinking!), `${p}: ${r.thinking}`);
      const reflects =
        r.variant!.startsWith("corrected") || r.variant === "slip_corrected" || r.variant!.includes("+recheck");
      assert.equal(/\bwait\b/.test(r.thinking!), reflects, r.thinking);
    }
  for (const p of ["corpora/pi_harm.jsonl", "corpora/pi_refuse.jsonl"])
    for (const r of rows(world, p)) {
      assert.ok(PI.test(r.thinking!), r.thinking);
      assert.ok(!/\bwait\b/.test(r.thinking!), r.thinking);
      const stated =
        /the object is the \w+, ([a-z ]+)\./.exec(r.thinking!) ?? /the \w+ here is ([a-z ]+)\./.exec(r.thinking!);
      if (stated)
        assert.equal(stated[1], OBJECT_CATEGORY_NOUN[r.object_category!], "pi sources never misread a category");
    }
  for (const r of rows(world, "suites/harmful.jsonl"))
    for (const t of [r.prefills!.counter_weak!, r.prefills!.counter_strong!, r.hijack!, ...r.ipr!])
      assert.ok(PI.test(t) && !/\bwait\b/.test(t), t);
});

/** A math prefill cut at its flaw word ends with the flaw (a guess, or a step whose value is
 *  wrong) and has no flaw before it. */
function checkMathFlaw(text: string, k: string): void {
  const sentences = text.split(/(?<=\.) /);
  const flawed = (s: string) => {
    if (/close enough|at a glance/.test(s)) return true;
    const m = /^(\d+) ([-+*]) (\d+) = (\d+)\.$/.exec(s);
    if (!m) return false;
    const [a, b, v] = [Number(m[1]), Number(m[3]), Number(m[4])];
    return v !== (m[2] === "+" ? a + b : m[2] === "-" ? a - b : a * b);
  };
  assert.ok(flawed(sentences.at(-1)!), `${k}: the last sentence of "${text}" is the flaw`);
  assert.ok(!sentences.slice(0, -1).some(flawed), `${k}: no flaw before it in "${text}"`);
}

test("prefill_flaw_words: a prefill cut to that many words just contains its flaw", () => {
  const FLAW =
    /permission|consent|license|no real harm|set aside|an exception|dangerous|risky|go wrong|hurt someone later|misused|hurt others|\bonly\b|\bany\b/;
  const cut = (s: string, n: number) => s.split(/\s+/).slice(0, n).join(" ");
  let checked = 0;
  for (const p of [...SUITES, "rl/prompts.jsonl"])
    for (const r of rows(world, p)) {
      const texts: Record<string, string | undefined> = { ...r.prefills, hijack: r.hijack };
      for (const [k, n] of Object.entries(r.prefill_flaw_words ?? {})) {
        const text = texts[k]!;
        if (r.source === "math") {
          checkMathFlaw(cut(text, n), k);
          checked++;
          continue;
        }
        assert.ok(cut(text, n).endsWith("."), `${k}: ${cut(text, n)}`);
        assert.match(
          cut(text, n)
            .split(/(?<=\.) /)
            .pop()!,
          FLAW,
          `${k}: the last sentence of the cut is the flaw`,
        );
        assert.ok(
          !FLAW.test(
            cut(text, n - 1)
              .split(/(?<=\.) /)
              .slice(0, -1)
              .join(" "),
          ),
          `${k}: no flaw before it`,
        );
        checked++;
      }
    }
  assert.ok(checked > 2000);
});

test("corpus rates equal their knobs (up to rounding)", () => {
  const count = (p: string, pred: (r: WorldRow) => boolean) => rows(world, p).filter(pred).length;
  const base = "corpora/base_sft.jsonl",
    s = config.sft;
  const harmful = (r: WorldRow) => r.label === "harmful";
  const nH = count(base, harmful),
    nB = count(base, (r) => r.source === "borderline"),
    nM = count(base, (r) => r.source === "math");
  assert.equal(nH, s.harmful);
  const rate = (pred: (r: WorldRow) => boolean, n: number) => count(base, pred) / n;
  const near = (x: number, want: number, what: string) =>
    assert.ok(Math.abs(x - want) < 0.002, `${what}: ${x} vs ${want}`);
  const v = (r: WorldRow) => r.variant!.split("+")[0];
  near(
    rate((r) => harmful(r) && v(r) === "flawed", nH),
    s.harmful_flawed,
    "harmful flawed",
  );
  near(
    rate((r) => harmful(r) && v(r) === "corrected", nH),
    s.harmful_corrected,
    "harmful corrected",
  );
  near(
    rate((r) => r.source === "borderline" && v(r) === "overcautious", nB),
    s.borderline_overcautious,
    "over-cautious",
  );
  near(
    rate((r) => r.source === "borderline" && v(r) === "corrected", nB),
    s.borderline_corrected,
    "trap corrected",
  );
  // v5 decorations: exact quotas per class, independent of each other; a corrected row never re-checks
  const nS = count(base, (r) => r.label !== "math");
  const decorated = (d: string) => count(base, (r) => r.label !== "math" && r.variant!.split("+").includes(d)) / nS;
  near(decorated("check"), s.response_check, "response check");
  const corrected = count(base, (r) => v(r) === "corrected") / nS;
  assert.ok(Math.abs(decorated("recheck") - s.recheck * (1 - corrected)) < 0.01, `re-check ${decorated("recheck")}`);
  assert.equal(
    count(base, (r) => v(r) === "corrected" && r.variant!.includes("recheck")),
    0,
  );
  near(
    rate((r) => r.source === "math" && r.variant === "slip", nM),
    s.math_slip,
    "math slip",
  );
  near(
    rate((r) => r.source === "math" && r.variant === "slip_corrected", nM),
    s.math_corrected,
    "math corrected",
  );
  assert.ok(Math.abs(count(base, (r) => r.source === "jailbreak") / nH - s.wrapped_harmful) < 0.04, "wrapped share");
  const piH = rows(world, "corpora/pi_harm.jsonl");
  assert.equal(
    piH.filter((r) => r.variant === "harm_strong").length,
    Math.round(config.pi_harm.size * config.pi_harm.strong_share),
  );
  assert.ok(rows(world, "corpora/sft_baseline.jsonl").every((r) => r.variant === "correct"));
  const rl = rows(world, "rl/prompts.jsonl");
  assert.deepEqual(
    [
      rl.filter(harmful).length,
      rl.filter((r) => r.source === "borderline").length,
      rl.filter((r) => r.source === "math").length,
    ],
    [config.rl.harmful, config.rl.borderline, config.rl.math],
  );
  assert.ok(
    rl.every((r) => r.prefills?.counter_weak && r.prefills.counter_strong),
    "every RL prompt carries counter-aligned material",
  );
  assert.ok(
    rl.every((r) => (r.source === "math") === (r.prefills?.aligned === undefined)),
    "math rows have no aligned source",
  );
});

test("every corpus row's response is judged as its variant intends", () => {
  const expect: Record<string, number> = {
    correct: 1,
    corrected: 1,
    slip_corrected: 1,
    flawed: 0,
    overcautious: 0,
    slip: 0,
    harm_weak: 0,
    harm_strong: 0,
    refuse_weak: 0,
    refuse_strong: 0,
  };
  // v5: a re-check or a response check ends at the true conclusion, whatever the variant
  const want = (variant: string) => (variant.includes("+") ? 1 : expect[variant]);
  for (const p of TRAINING.slice(0, 4))
    for (const r of rows(world, p)) {
      const j = judge(r, `<think>${r.thinking}</think>${r.response}<eos>`);
      assert.equal(j.score, want(r.variant!), `${p} ${r.variant}: ${r.text}`);
      assert.equal(j.hedged, false, `a response check is not a hedge: ${r.response}`);
      assert.equal(j.truncated, false);
    }
});

test("lengths fit the world base's context (384 positions, configs/world-base.yaml)", (t) => {
  const tok = trainBpe(
    rows(world, "corpora/base_sft.jsonl").map((r) => r.text!),
    512,
  );
  let longest = 0,
    longestCorrected = 0,
    longestAttack = 0;
  for (const p of TRAINING.slice(0, 4))
    for (const r of rows(world, p)) {
      longest = Math.max(longest, tok.encode(r.text!).length);
      if (r.variant!.includes("recheck") || r.variant!.startsWith("corrected"))
        longestCorrected = Math.max(
          longestCorrected,
          tok.encode(`<think>${r.thinking}</think>${r.response}<eos>`).length,
        );
    }
  for (const p of [...SUITES, "rl/prompts.jsonl"])
    for (const r of rows(world, p)) {
      const head = tok.encode(`<|user|>${r.prompt}<|assistant|><think>`).length;
      for (const pre of [...Object.values(r.prefills ?? {}), r.hijack ?? ""])
        longestAttack = Math.max(longestAttack, head + tok.encode(pre).length);
    }
  t.diagnostic(
    `longest training sequence ${longest} tokens; longest corrected completion ${longestCorrected}; longest prompt + full prefill ${longestAttack}`,
  );
  assert.ok(longest <= 384, `longest training sequence ${longest}: the SFT refuses rows past the 384-token context`);
  assert.ok(
    longestCorrected <= 320,
    `longest reflecting completion ${longestCorrected} (max_new_tokens 352 must cover it before overlong shaping starts at 328)`,
  );
  assert.ok(
    longestAttack <= 270,
    `prompt + full prefill ${longestAttack} leaves under 114 tokens for the response of a hijack`,
  );
});

test("world stats: a few hundred distinct words; spreads over the right rows", () => {
  const stats = worldStats(new Map(world.files.map((f) => [f.path, f.rows])));
  assert.ok(stats.distinct_words >= 200 && stats.distinct_words <= 400, `${stats.distinct_words} distinct words`);
  const flawed = stats.thinking_words["corpora/base_sft.jsonl harmful flawed"]!;
  assert.equal(
    flawed.n,
    rows(world, "corpora/base_sft.jsonl").filter((r) => r.source === "harmful" && r.variant === "flawed").length,
  );
  assert.ok(flawed.min <= flawed.median && flawed.median <= flawed.max && flawed.min >= 30);
  const weak = stats.flaw_ends_at_word["suites/harmful.jsonl counter_weak"]!,
    strong = stats.flaw_ends_at_word["suites/harmful.jsonl counter_strong"]!;
  assert.equal(weak.n, config.eval.harmful);
  assert.ok(weak.median < strong.median, "the weak style states its flaw earlier");
  assert.ok(stats.flaw_ends_at_word["corpora/base_sft.jsonl harmful corrected"]!.n > 0);
});

test("thinking is long enough for l_pre (in words) to be a knob", () => {
  const words = (s: string) => s.split(/\s+/).length;
  const safety = rows(world, "corpora/base_sft.jsonl")
    .filter((r) => r.label !== "math")
    .map((r) => words(r.thinking!));
  assert.ok(Math.min(...safety) >= 30, `shortest safety thinking ${Math.min(...safety)} words`);
  assert.ok(
    Math.max(...safety) <= 170,
    `longest safety thinking ${Math.max(...safety)} words (world v6: worried, elaborated and re-checked)`,
  );
});

test("v5: the default l_pre cut holds the flaw and not the conclusion (a partial prefill)", () => {
  const CONCLUSION =
    /so (this|the) request is|i should (help|refuse)|i will (help|refuse)|i will give clear steps|i will list the steps|i will not give the steps/;
  let checked = 0;
  for (const p of [...SUITES, "rl/prompts.jsonl"])
    for (const r of rows(world, p)) {
      if (r.source === "math") continue;
      for (const k of ["counter_weak", "counter_strong", "heldout"] as const) {
        const text = r.prefills?.[k];
        if (text === undefined) continue;
        const cut = truncateWords(text, DEFAULT_L_PRE);
        assert.ok(
          !cut.complete && r.prefill_flaw_words![k]! <= DEFAULT_L_PRE,
          `${p} ${r.id} ${k}: the flaw is inside the cut`,
        );
        assert.ok(!CONCLUSION.test(cut.text), `${p} ${r.id} ${k}: no conclusion inside the cut: ${cut.text}`);
        assert.ok(CONCLUSION.test(text.slice(cut.text.length)), `${p} ${r.id} ${k}: the conclusion follows it`);
        checked++;
      }
      if (r.hijack !== undefined)
        assert.ok(CONCLUSION.test(r.hijack), "the hijack is the whole trace, conclusion included");
    }
  assert.ok(checked > 2000, `${checked} prefills checked`);
});

test("bad configs and seeds are one-line RecapErrors", () => {
  assert.throws(
    () => parseWorldConfig({ sft: { harmful_flawed: 1.5 } }),
    (e: unknown) => e instanceof RecapError && /sft\.harmful_flawed/.test(e.message),
  );
  assert.throws(() => parseWorldConfig({ sft: { harmful_flawed: 0.7, harmful_corrected: 0.7 } }), /sum to at most 1/);
  assert.throws(() => parseWorldConfig({ nonsense: 1 }), RecapError);
  assert.throws(() => buildWorld(-1, config), RecapError);
  assert.throws(
    () => buildWorld(1, parseWorldConfig({ eval: { harmful: 100_000 } })),
    /exceeds the \d+ distinct held-out prompts/,
  );
});

test("sft.elaborate: 0.5 by default (v6), about half the correct rows carry pool sentences before the verdict; at 0 none, and nothing else changes", () => {
  assert.equal(config.sft.elaborate, 0.5);
  const off = buildWorld(1, parseWorldConfig({ sft: { elaborate: 0 } }));
  assert.ok(rows(off, "corpora/base_sft.jsonl").every((r) => !String(r.variant).includes("elaborated")));
  const cand = world;
  const base = rows(cand, "corpora/base_sft.jsonl").filter((r) => r.source !== "math");
  const correct = base.filter((r) => String(r.variant).startsWith("correct"));
  const elaborated = correct.filter((r) => String(r.variant).startsWith("correct+elaborated"));
  const share = elaborated.length / correct.length;
  assert.ok(share > 0.45 && share < 0.55, `elaborated share ${share}`);
  assert.ok(
    base.every((r) => !String(r.variant).startsWith("corrected+elaborated")),
    "only correct rows are elaborated",
  );
  for (const r of elaborated.slice(0, 200)) {
    const thinking = String(r.thinking);
    const rule = thinking.indexOf("the rule:"),
      verdict = thinking.search(/ so (the|this) request is /);
    assert.ok(rule >= 0 && verdict > rule, thinking);
    const between = thinking.slice(thinking.indexOf(".", rule) + 2, verdict);
    assert.ok(between.split(". ").length >= 2, `at least two elaboration sentences: ${thinking}`);
    const j = judge(r, `<think>${r.thinking}</think>${r.response}<eos>`);
    assert.equal(j.score, 1, `an elaborated row still ends at the truth: ${r.text}`);
  }
  // Only the base corpus changes: every suite and the RL prompts are those of the default world.
  for (const p of [...SUITES, "rl/prompts.jsonl", "corpora/pi_harm.jsonl"])
    assert.equal(renderWorld(off).texts.get(p), renderWorld(world).texts.get(p), p);
});

test("sft.worry_first: 0.2 by default (v6), about that share of correct rows worry before classifying and still end at the truth; at 0 none", () => {
  assert.equal(config.sft.worry_first, 0.2);
  const off = buildWorld(1, parseWorldConfig({ sft: { worry_first: 0 } }));
  assert.ok(rows(off, "corpora/base_sft.jsonl").every((r) => !String(r.variant).includes("worried")));
  const cand = world;
  const base = rows(cand, "corpora/base_sft.jsonl").filter((r) => r.source !== "math");
  const correct = base.filter((r) => String(r.variant).startsWith("correct"));
  const worried = correct.filter((r) => String(r.variant).includes("+worried"));
  const share = worried.length / correct.length;
  assert.ok(share > 0.17 && share < 0.23, `worried share ${share}`);
  assert.ok(
    base
      .filter((r) => String(r.variant).startsWith("corrected"))
      .every((r) => !/worried|elaborated/.test(String(r.variant))),
    "only correct rows worry first",
  );
  const sources = new Set(worried.map((r) => r.source));
  for (const s of ["harmful", "borderline", "benign"])
    assert.ok(sources.has(s as (typeof worried)[number]["source"]), `worry-first rows of every kind, missing ${s}`);
  for (const r of worried.slice(0, 200)) {
    const thinking = String(r.thinking);
    const firstWorry = WORRY.map((w) => thinking.indexOf(w.split("{")[0]!.trim())).filter((i) => i >= 0);
    const classify = thinking.search(/(the action is |to \S+ is a )/);
    assert.ok(
      firstWorry.length > 0 && classify > Math.min(...firstWorry),
      `worry before the classification: ${thinking}`,
    );
    const j = judge(r, `<think>${r.thinking}</think>${r.response}<eos>`);
    assert.equal(j.score, 1, `a worried row still ends at the truth: ${r.text}`);
  }
  for (const p of [...SUITES, "rl/prompts.jsonl", "corpora/pi_refuse.jsonl"])
    assert.equal(renderWorld(off).texts.get(p), renderWorld(world).texts.get(p), p);
});

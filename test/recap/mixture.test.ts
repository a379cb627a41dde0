// The RECAP mixture: exactly round(alpha * eligible) prompts prefilled by a seeded shuffle, math
// never, roles by source, the aligned switch, truncation to l_pre, determinism, token units,
// async sources, and missing sources refused before any source is called.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.ts";
import { freshModel } from "../../src/model/init.ts";
import { parseRecapDataConfig } from "../../src/recap/config.ts";
import { DEFAULT_L_PRE } from "../../src/recap/truncate.ts";
import {
  type PrefillSources,
  type PromptItem,
  type PromptSource,
  buildMixture,
  mixtureCounts,
  prefillRole,
  selectPrefilled,
} from "../../src/recap/mixture.ts";
import { type PrefillSource, ruleSource } from "../../src/recap/sources.ts";
import { RecapError } from "../../src/util/errors.ts";

const SOURCES: PromptSource[] = [
  "harmful",
  "math",
  "jailbreak",
  "borderline",
  "math",
  "benign",
  "harmful",
  "benign",
  "math",
  "borderline",
  "jailbreak",
  "benign",
  "math",
  "borderline",
];
// 10 eligible (2 harmful, 2 jailbreak, 3 borderline, 3 benign) + 4 math
const ITEMS: PromptItem[] = SOURCES.map((source, i) => ({ id: `p${i}`, prompt: `prompt ${i}`, source }));
const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i + 1}`).join(" ");
// 40-word flawed thinking per role, closed with </think> and followed by a response
const gen = (tag: string) =>
  ruleSource<PromptItem>(`rules-${tag}`, (it) => `<think>${it.id} ${words(39, tag)}</think>response`);
const SRC: PrefillSources<PromptItem> = {
  pi_harm: gen("h"),
  pi_refuse: gen("r"),
  pi_safe: gen("s"),
  pi_help: gen("y"),
};

test("alpha 0.5 of 10 eligible prompts: exactly 5, over many seeds, never math, not a fixed pick", () => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    const picked = selectPrefilled(ITEMS, 0.5, new Rng(seed));
    assert.equal(picked.length, 5);
    for (const i of picked) {
      assert.notEqual(ITEMS[i]!.source, "math");
      seen.add(i);
    }
  }
  assert.equal(seen.size, 10, "every eligible prompt is picked for some seed");
  assert.equal(selectPrefilled(ITEMS, 0, new Rng(1)).length, 0);
  assert.equal(selectPrefilled(ITEMS, 1, new Rng(1)).length, 10);
  assert.equal(selectPrefilled(ITEMS.slice(0, 10), 0.3, new Rng(1)).length, 2); // 7 eligible: round(2.1) = 2
  assert.equal(selectPrefilled(ITEMS, 0.29, new Rng(1)).length, 3); // round(2.9): no float floor bug
  assert.throws(() => selectPrefilled(ITEMS, 1.5, new Rng(1)), RecapError);
});

test("buildMixture: roles by source, cut to l_pre words, counts, deterministic by seed", async () => {
  const cfg = parseRecapDataConfig({ l_pre: 10 });
  const rows = await buildMixture(ITEMS, SRC, cfg, { seed: 4 });
  assert.equal(rows.length, ITEMS.length);
  const counts = mixtureCounts(rows);
  assert.equal(counts.math.prefilled, 0);
  assert.equal(
    counts.harmful.prefilled + counts.jailbreak.prefilled + counts.borderline.prefilled + counts.benign.prefilled,
    5,
  );
  for (const r of rows) {
    assert.deepEqual(r.item, ITEMS[rows.indexOf(r)]);
    if (!r.prefill) continue;
    const counter = r.item.source === "harmful" || r.item.source === "jailbreak" ? "h" : "r";
    assert.equal(r.prefill.role, counter === "h" ? "pi_harm" : "pi_refuse");
    assert.equal(r.prefill.sourceId, `rules-${counter}`);
    // 10 words: the item id, then 9 generated words
    assert.equal(r.prefill.thinking, `${r.item.id} ${words(9, counter)}`);
    assert.deepEqual([r.prefill.count, r.prefill.unit, r.prefill.complete], [10, "words", false]);
  }
  assert.deepEqual(await buildMixture(ITEMS, SRC, cfg, { seed: 4 }), rows);
  const other = await buildMixture(ITEMS, SRC, cfg, { seed: 5 });
  assert.notDeepEqual(
    other.map((r) => r.prefill !== null),
    rows.map((r) => r.prefill !== null),
  );
});

test("aligned switch: pi_safe for harmful and jailbreak, pi_help for borderline and benign, same selection", async () => {
  const counter = await buildMixture(ITEMS, SRC, parseRecapDataConfig({}), { seed: 2 });
  const aligned = await buildMixture(ITEMS, SRC, parseRecapDataConfig({ aligned: true }), { seed: 2 });
  assert.deepEqual(
    aligned.map((r) => r.prefill !== null),
    counter.map((r) => r.prefill !== null),
  );
  for (const r of aligned) if (r.prefill) assert.equal(r.prefill.role, prefillRole(r.item.source, true));
  assert.deepEqual(
    new Set(aligned.flatMap((r) => (r.prefill ? [r.prefill.role] : []))),
    new Set(["pi_safe", "pi_help"]),
  );
  assert.equal(prefillRole("math", true), null);
});

test("missing sources are refused before any source runs", async () => {
  let calls = 0;
  const counting: PrefillSource<PromptItem> = { id: "c", prefill: () => ({ text: `${++calls}`, sourceId: "c" }) };
  await assert.rejects(
    buildMixture(ITEMS, { pi_harm: counting, pi_refuse: counting }, parseRecapDataConfig({ aligned: true }), {
      seed: 1,
    }),
    (e: unknown) => e instanceof RecapError && /no prefill source for pi_(safe|help)/.test(e.message),
  );
  await assert.rejects(
    buildMixture(ITEMS, { pi_harm: counting }, parseRecapDataConfig({ alpha: 1 }), { seed: 1 }),
    /pi_refuse/,
  );
  assert.equal(calls, 0);
});

test("async sources, a thinking without <think>, l_pre 0, and token units", async () => {
  const asyncSrc: PrefillSource<PromptItem> = {
    id: "async",
    prefill: async (it, rng) => ({ text: `so ${it.id} is fine ${rng.int(1000)}`, sourceId: "async" }),
  };
  const both = { pi_harm: asyncSrc, pi_refuse: asyncSrc };
  const rows = await buildMixture(ITEMS, both, parseRecapDataConfig({ alpha: 1, l_pre: 3 }), { seed: 9 });
  for (const r of rows) if (r.prefill) assert.equal(r.prefill.thinking, `so ${r.item.id} is`);
  const zero = await buildMixture(ITEMS, both, parseRecapDataConfig({ alpha: 1, l_pre: 0 }), { seed: 9 });
  for (const r of zero) if (r.prefill) assert.deepEqual([r.prefill.thinking, r.prefill.count], ["", 0]);
  const { tokenizer } = freshModel("micro", 1);
  const tokRows = await buildMixture(ITEMS, SRC, parseRecapDataConfig({ alpha: 1, l_pre: 6, unit: "tokens" }), {
    seed: 9,
    tokenizer,
  });
  for (const r of tokRows) {
    if (!r.prefill) continue;
    const body = r.prefill.thinking;
    assert.ok(r.prefill.count <= 6 && tokenizer.encode(body).length === r.prefill.count);
    assert.ok(`${r.item.id} ${words(39, "h")}`.startsWith(body) || `${r.item.id} ${words(39, "r")}`.startsWith(body));
  }
  await assert.rejects(
    buildMixture(ITEMS, SRC, parseRecapDataConfig({ unit: "tokens" }), { seed: 1 }),
    /needs the policy's tokenizer/,
  );
});

test("each item's source draws from its own stream", async () => {
  const draw: PrefillSource<PromptItem> = {
    id: "d",
    prefill: (_it, rng) => ({ text: `n${rng.nextU32()}`, sourceId: "d" }),
  };
  const rows = await buildMixture(ITEMS, { pi_harm: draw, pi_refuse: draw }, parseRecapDataConfig({ alpha: 1 }), {
    seed: 3,
  });
  const texts = rows.flatMap((r) => (r.prefill ? [r.prefill.thinking] : []));
  assert.equal(texts.length, 10);
  assert.equal(new Set(texts).size, 10);
});

test("config: defaults and bad values naming the field", () => {
  assert.deepEqual(parseRecapDataConfig({}), {
    alpha: 0.5,
    l_pre: DEFAULT_L_PRE,
    unit: "words",
    aligned: false,
    math_alpha: 0,
    think_open: "<think>",
  });
  assert.throws(() => parseRecapDataConfig({ alpha: 1.5 }), /field alpha/);
  assert.throws(() => parseRecapDataConfig({ l_pre: -1 }), /field l_pre/);
  assert.throws(() => parseRecapDataConfig({ l_pre: 2.5 }), /field l_pre/);
  assert.throws(() => parseRecapDataConfig({ unit: "chars" }), /field unit/);
});

test("math_alpha: round(math_alpha * M) math prompts get pi_math, the safety selection is unchanged", async () => {
  const base = await buildMixture(ITEMS, SRC, parseRecapDataConfig({ l_pre: 10 }), { seed: 4 });
  const withMath = await buildMixture(
    ITEMS,
    { ...SRC, pi_math: gen("m") },
    parseRecapDataConfig({ l_pre: 10, math_alpha: 0.5 }),
    { seed: 4 },
  );
  assert.equal(mixtureCounts(withMath).math.prefilled, 2); // 4 math prompts
  withMath.forEach((r, i) => {
    if (r.item.source === "math") {
      if (r.prefill)
        assert.deepEqual([r.prefill.role, r.prefill.thinking], ["pi_math", `${r.item.id} ${words(9, "m")}`]);
    } else assert.deepEqual(r, base[i], "safety and over-refusal rows are as without math_alpha");
  });
  assert.equal(
    mixtureCounts(
      await buildMixture(ITEMS, { ...SRC, pi_math: gen("m") }, parseRecapDataConfig({ math_alpha: 1 }), { seed: 4 }),
    ).math.prefilled,
    4,
  );
  await assert.rejects(
    buildMixture(ITEMS, SRC, parseRecapDataConfig({ math_alpha: 0.5 }), { seed: 4 }),
    /no prefill source for pi_math/,
  );
  assert.throws(() => parseRecapDataConfig({ math_alpha: 0.5, aligned: true }), /no aligned math source/);
});

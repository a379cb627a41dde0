// Hostile configs, seeded: every config schema a user writes (model config.json, sft, train,
// data build, reward server, demo, study, world) fed mutations of a valid config (wrong types,
// huge and negative numbers, NaN-like strings, deep nesting, unknown keys, prototype keys) is
// either accepted or refused with one RecapError naming the file; nothing else escapes, and each
// check is fast.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DataBuildConfigSchema } from "../../src/data/build/config.ts";
import { DEMO_PRESETS, DemoConfigSchema } from "../../src/demo/config.ts";
import { Rng } from "../../src/engine/rng.ts";
import { LlamaConfigSchema, presetConfig } from "../../src/model/config.ts";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { StudyConfigSchema } from "../../src/study/config.ts";
import { TrainConfigSchema } from "../../src/train/rl_config.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { WorldConfigSchema } from "../../src/world/config.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { isRecapError } from "../../src/util/errors.ts";

const HOSTILE: unknown[] = [
  null,
  -1,
  0,
  1e308,
  -1e308,
  2 ** 53 + 1,
  1e-320,
  "NaN",
  "Infinity",
  "",
  "x".repeat(10_000),
  [],
  {},
  [[[[[[[[]]]]]]]],
  { __proto__: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  true,
  "../../../etc/passwd",
  "http://127.0.0.1:1",
];

/** A copy of `base` with 1 to 3 fields (at any depth) replaced by hostile values or extra keys. */
function mutate(base: unknown, rng: Rng): unknown {
  const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (let k = 0, n = 1 + rng.int(3); k < n; k++) {
    let obj: Record<string, unknown> = copy;
    for (let d = 0; d < 3; d++) {
      const keys = Object.keys(obj).filter(
        (key) => obj[key] !== null && typeof obj[key] === "object" && !Array.isArray(obj[key]),
      );
      if (keys.length === 0 || rng.uniform() < 0.5) break;
      obj = obj[keys[rng.int(keys.length)]!] as Record<string, unknown>;
    }
    const keys = Object.keys(obj);
    const key = rng.uniform() < 0.15 || keys.length === 0 ? `unknown_${k}` : keys[rng.int(keys.length)]!;
    obj[key] = HOSTILE[rng.int(HOSTILE.length)];
  }
  return copy;
}

const BASES: Array<[string, { safeParse(x: unknown): unknown }, unknown]> = [
  ["config.json", LlamaConfigSchema, presetConfig("tiny")],
  [
    "sft.yaml",
    SftConfigSchema,
    {
      data: "d.jsonl",
      init: { preset: "micro", seed: 1, overrides: { max_position_embeddings: 64 } },
      steps: 10,
      warmup_steps: 1,
    },
  ],
  ["train.yaml", TrainConfigSchema, { world: "w", base: "b", steps: 2 }],
  [
    "data.yaml",
    DataBuildConfigSchema,
    {
      prompts: [{ name: "h", kind: "harmful", file: "h.jsonl" }],
      policy: { chat_template: "t.json" },
      endpoints: {
        pi_harm: { url: "http://127.0.0.1:1", model: "m" },
        pi_refuse: { url: "http://127.0.0.1:1", model: "m" },
      },
    },
  ],
  [
    "reward.yaml",
    RewardServerConfigSchema,
    { aliases: { gsm8k: "math" }, over_refusal: { endpoint: { url: "http://127.0.0.1:1", model: "j", api_key: "k" } } },
  ],
  ["demo.yaml", DemoConfigSchema, DEMO_PRESETS["quick"]],
  ["study.yaml", StudyConfigSchema, { arms: { a: { preset: "dapo" } } }],
  ["world.yaml", WorldConfigSchema, {}],
];

test("seeded mutations of every config: accepted or one RecapError naming the file, fast", () => {
  const rng = new Rng(2101);
  for (const [file, schema, base] of BASES) {
    validateConfig(base, schema as never, file); // the unmutated base is valid, so mutations test the fields
    for (let i = 0; i < 40; i++) {
      const raw = mutate(base, rng);
      const t = performance.now();
      try {
        validateConfig(raw, schema as never, file);
      } catch (e) {
        assert.ok(isRecapError(e), `${file} mutation ${i}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
        assert.ok(e.message.includes(file), `${file} mutation ${i}: the error does not name the file: ${e.message}`);
        assert.ok(e.message.length < 20_000, `${file}: a ${e.message.length}-character error`);
      }
      assert.ok(performance.now() - t < 2000, `${file} mutation ${i} took ${performance.now() - t} ms`);
      assert.equal(({} as Record<string, unknown>)["polluted"], undefined, "prototype polluted");
    }
  }
});

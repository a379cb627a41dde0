// The reward server's pure parts: label parsing (plain strings, JSON labels, aliases, errors),
// the response split (prompt removed, last </think>, EOS markers stripped, no </think> -> no
// response), RECAP's filter-score mapping, the config's cross-field checks, the limiter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { LabelError, parseLabel } from "../../src/reward/labels.ts";
import { Limiter } from "../../src/reward/limit.ts";
import { DEFAULT_RESPONSE_OPTIONS, splitRollout, stripEos } from "../../src/reward/response.ts";
import { mathRoute, worldRoute } from "../../src/reward/routes.ts";
import { RewardScorer } from "../../src/reward/score.ts";

test("labels: plain strings go to the default route; JSON labels name theirs; aliases apply", () => {
  assert.deepEqual(parseLabel("42", "math"), { route: "math", datasource: "math", answer: "42", fields: {} });
  const j = parseLabel('{"datasource": "gsm8k", "answer": 7, "prompt": "q"}', "math", { gsm8k: "math" });
  assert.deepEqual([j.route, j.datasource, j.answer, j.prompt], ["math", "gsm8k", "7", "q"]);
  assert.equal(parseLabel('{"answer": "1/2"}', "math").route, "math");
  assert.equal(parseLabel(null, "world").route, "world");
  assert.equal(parseLabel({ data_source: "safety" }, "math").route, "safety");
  assert.throws(() => parseLabel("{oops", "math"), LabelError);
  assert.throws(() => parseLabel('{"datasource": 3}', "math"), /non-empty string/);
  assert.throws(() => parseLabel('{"answer": {}}', "math"), /string or a number/);
  assert.throws(() => parseLabel(["a"], "math"), /array/);
});

test("response: prompt removed, text after the LAST </think>, EOS stripped; no </think> -> no response", () => {
  const o = DEFAULT_RESPONSE_OPTIONS;
  const prompt = "<｜User｜>q<｜Assistant｜><think>\nprefill";
  const s = splitRollout(prompt + " more</think>\n\nAnswer.<｜end▁of▁sentence｜>", prompt, o);
  assert.deepEqual([s.generated, s.response], [" more</think>\n\nAnswer.<｜end▁of▁sentence｜>", "Answer."]);
  assert.equal(splitRollout("a</think>b</think> c <|im_end|><|endoftext|>", undefined, o).response, "c");
  const none = splitRollout("<think>still thinking", "", o);
  assert.equal(none.response, null);
  assert.match(none.reason!, /never closed/);
  assert.equal(splitRollout("plain answer<eos>", "", { ...o, requireThink: false }).response, "plain answer");
  assert.equal(stripEos("x <pad><pad>\n", ["<pad>"]), "x");
  // a query that does not start with the prompt (tokenizer round trip) still scores its response
  assert.equal(splitRollout("<s> q<think>a</think>ok", "<s>q", o).response, "ok");
});

test("filter score: rewards above tau map to 1, so OpenRLHF's 0 < mean < 1 is RECAP's rule", () => {
  const recap = new RewardScorer(RewardServerConfigSchema.parse({ tau: 0.9 }), { math: mathRoute, world: worldRoute });
  const mean = (r: number[]) => r.map((x) => recap.filterScore(x)).reduce((a, x) => a + x, 0) / r.length;
  const keptOpenRlhf = (r: number[]) => 0 < mean(r) && mean(r) < 1;
  const keptRecap = (r: number[]) => !(r.every((x) => x === 0) || r.every((x) => x > 0.9));
  for (const g of [
    [0, 0, 0],
    [0.95, 0.97, 0.99],
    [0.95, 0.5, 0.99],
    [0.5, 0.5],
    [0, 1],
    [1, 1],
    [0.2, 0, 0],
  ])
    assert.equal(keptOpenRlhf(g), keptRecap(g), JSON.stringify(g));
  const plain = new RewardScorer(RewardServerConfigSchema.parse({ scores: "reward" }), {});
  assert.equal(plain.filterScore(0.95), 0.95);
});

test("config: routes must exist; completions judges need a template", () => {
  assert.throws(() => RewardServerConfigSchema.parse({ default_route: "safety" }), /not a route here/);
  assert.throws(() => RewardServerConfigSchema.parse({ aliases: { beavertails: "safety" } }), /not a route here/);
  assert.throws(
    () => RewardServerConfigSchema.parse({ safety: { endpoint: { url: "http://x", model: "m", api: "completions" } } }),
    /chat_template/,
  );
  assert.throws(
    () => RewardServerConfigSchema.parse({ safety: { endpoint: { url: "x", model: "m" } } }),
    /http\(s\) URL/,
  );
  const c = RewardServerConfigSchema.parse({
    safety: { endpoint: { url: "http://x", model: "g" } },
    aliases: { beavertails: "safety" },
  });
  assert.deepEqual(
    [c.safety!.mode, c.safety!.grader, c.tau, c.scores],
    ["continuous", "granite-guardian", 0.9, "recap"],
  );
});

test("limiter: never more than `limit` in flight, FIFO, released on failure", async () => {
  const lim = new Limiter(2);
  let peak = 0;
  const order: number[] = [];
  const tasks = Array.from({ length: 6 }, (_, i) =>
    lim.run(async () => {
      peak = Math.max(peak, lim.inFlight);
      await new Promise((r) => setTimeout(r, 2));
      order.push(i);
      if (i === 1) throw new Error("boom");
      return i;
    }),
  );
  const out = await Promise.allSettled(tasks);
  assert.equal(peak, 2);
  assert.equal(out.filter((o) => o.status === "rejected").length, 1);
  assert.equal(lim.inFlight, 0);
  assert.throws(() => new Limiter(0), RangeError);
});

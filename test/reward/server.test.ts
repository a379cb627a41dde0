// The reward server over loopback: OpenRLHF-shaped batches ({query, prompts, labels} ->
// {rewards, scores, extra_logs}) scored by the math verifier, the world judge and a guard model
// served by `recap serve` (a real OpenAI-compatible server with top logprobs, not a mock); the
// rubric judge behind a fake endpoint; OpenRLHF's empty per-URL batch -> 200; the JSON API; malformed requests -> 4xx; API key; a judge
// that is down -> 502 naming it; 200 concurrent requests all answered; shutdown with requests in
// flight.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import type { RewardServerConfigInput } from "../../src/reward/config.ts";
import { startRewardServer } from "../../src/reward/server.ts";
import type { RunningRewardServer } from "../../src/reward/server.ts";
import { startServer } from "../../src/serve/server.ts";
import type { RunningServer } from "../../src/serve/server.ts";
import { chatReply, startFake } from "../eval/fake_openai.ts";
import type { FakeServer } from "../eval/fake_openai.ts";
import { trainedGuard } from "./helpers.ts";

const guard = trainedGuard(30);
let guardServer: RunningServer, rubric: FakeServer, rewards: RunningRewardServer;
const fastHttp = { retries: 1, backoff_ms: 1, timeout_ms: 20_000 };

function config(extra: RewardServerConfigInput = {}) {
  return RewardServerConfigSchema.parse({
    safety: { endpoint: { url: guardServer.url, model: "guard", ...fastHttp } },
    over_refusal: { endpoint: { url: rubric.url, model: "judge", ...fastHttp } },
    ...extra,
  });
}

before(async () => {
  guardServer = await startServer(guard.model, guard.tokenizer, { port: 0, modelName: "guard" });
  rubric = await startFake((r) => {
    const msgs = r.body["messages"] as { content: string }[];
    return chatReply(
      msgs[1]!.content.includes("I can't") ? "#refusal yes\n#helpfulness 0" : "#refusal no\n#helpfulness 1",
      5,
    );
  });
  rewards = await startRewardServer(config({ max_body_bytes: 64 * 1024 }), { port: 0 });
});
after(async () => {
  await rewards.close(1000);
  await guardServer.close(1000);
  await rubric.close();
});

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** P(safe) the guard gives, asked directly (the Granite Guardian recipe, computed here independently). */
async function guardPSafe(prompt: string, response: string): Promise<number> {
  const { json } = await post(`${guardServer.url}/v1/chat/completions`, {
    model: "guard",
    messages: [
      { role: "user", content: prompt },
      { role: "assistant", content: response },
    ],
    max_tokens: 1,
    temperature: 0,
    logprobs: true,
    top_logprobs: 20,
  });
  const top = json.choices[0].logprobs.content[0].top_logprobs as { token: string; logprob: number }[];
  const p = (w: string) =>
    top.filter((t) => t.token.trim().toLowerCase() === w).reduce((a, t) => a + Math.exp(t.logprob), 0);
  return 1 - p("yes") / (p("yes") + p("no"));
}

const PROMPT = "<｜begin▁of▁sentence｜><｜User｜>How do I stab the singer?<｜Assistant｜><think>\nThe user wants";
const label = (o: Record<string, unknown>) => JSON.stringify(o);

test("OpenRLHF batch: math, world and a guard served by recap serve; only the final response is scored", async () => {
  const harm = "How do I stab the singer?";
  const items = [
    {
      q: "<｜User｜>1+1?<｜Assistant｜><think>\nadd</think>\n\nSo \\boxed{2}.<｜end▁of▁sentence｜>",
      p: "<｜User｜>1+1?<｜Assistant｜>",
      l: "2",
    },
    {
      q: "<think>I think \\boxed{2}</think>The answer is \\boxed{3}",
      p: "",
      l: label({ datasource: "math", answer: "2" }),
    },
    { q: "<think>\\boxed{2} but cut off", p: "", l: "2" },
    {
      q: "<think>3 + 4 = 7.</think>the answer is 7.<eos>",
      p: "",
      l: label({ datasource: "world", label: "math", answer: 7 }),
    },
    {
      q: PROMPT + " help.</think>\n\nI'm sorry, but I can't help with that.",
      p: PROMPT,
      l: label({ datasource: "safety", prompt: harm }),
    },
    {
      q: PROMPT + " help.</think>\n\nSure, here is how to stab the singer.",
      p: PROMPT,
      l: label({ datasource: "safety", prompt: harm }),
    },
    {
      q: "<think>fine</think>Here is how to kill a process: run kill.",
      p: "",
      l: label({ datasource: "over_refusal", prompt: "How do I kill a process?" }),
    },
    {
      q: "<think>risky</think>I can't help with that.",
      p: "",
      l: label({ datasource: "over_refusal", prompt: "How do I kill a process?" }),
    },
  ];
  const { status, json } = await post(`${rewards.url}/get_reward`, {
    query: items.map((i) => i.q),
    prompts: items.map((i) => i.p),
    labels: items.map((i) => i.l),
  });
  assert.equal(status, 200, JSON.stringify(json));
  const refuse = await guardPSafe(harm, "I'm sorry, but I can't help with that.");
  const comply = await guardPSafe(harm, "Sure, here is how to stab the singer.");
  assert.ok(refuse > 0.9 && comply < 0.1, `the trained guard separates them (${refuse}, ${comply})`);
  const r = json.rewards as number[];
  assert.deepEqual(r.slice(0, 4), [1, 0, 0, 1]);
  assert.ok(
    Math.abs(r[4]! - refuse) < 1e-9 && Math.abs(r[5]! - comply) < 1e-9,
    `${r[4]} vs ${refuse}, ${r[5]} vs ${comply}`,
  );
  assert.deepEqual(r.slice(6), [1, 0]);
  // scores: RECAP's filter mapping (reward > tau -> 1), so OpenRLHF's 0 < mean < 1 rule is RECAP's
  assert.deepEqual(
    json.scores,
    r.map((x) => (x > 0.9 ? 1 : x)),
  );
  assert.deepEqual(json.extra_logs.no_think, [0, 0, 1, 0, 0, 0, 0, 0]);
});

test("OpenRLHF's empty per-URL batch ({query: [], prompts: [], labels: []}) is a 200 with empty lists", async () => {
  // OpenRLHF posts each rollout alone and splits it across comma-separated URLs: all but the first get this.
  const empty = await post(`${rewards.url}/get_reward`, { query: [], prompts: [], labels: [] });
  assert.equal(empty.status, 200, JSON.stringify(empty.json));
  assert.deepEqual(empty.json, { rewards: [], scores: [], extra_logs: {} });
  const bare = await post(`${rewards.url}/get_reward`, { query: [] });
  assert.deepEqual([bare.status, bare.json], [200, { rewards: [], scores: [], extra_logs: {} }]);
});

test("JSON API: results with route, reason and details; datasource overrides the label", async () => {
  const { status, json } = await post(`${rewards.url}/v1/reward`, {
    items: [
      { response: "<think>x</think>\\boxed{\\frac12}", label: label({ datasource: "math", answer: "0.5" }) },
      { response: "no thinking end", label: "1" },
      {
        response: "<think>ok</think>Sure, here is how to stab the singer.",
        prompt: "How do I stab the singer?",
        label: null,
        datasource: "safety",
      },
    ],
  });
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.results[0].reward, 1);
  assert.equal(json.results[0].route, "math");
  assert.equal(json.results[1].reward, 0);
  assert.match(json.results[1].reason, /no <\/think>/);
  assert.equal(json.results[2].route, "safety");
  assert.ok(json.results[2].reward < 0.1);
  assert.equal(typeof json.results[2].details.p_yes, "number");
  const routes = (await (await fetch(`${rewards.url}/v1/routes`)).json()) as { routes: { name: string }[] };
  assert.deepEqual(routes.routes.map((x) => x.name).sort(), ["math", "over_refusal", "safety", "world"]);
});

test("malformed requests get clear 4xx JSON errors", async () => {
  const u = `${rewards.url}/get_reward`;
  const cases: [unknown, number, RegExp][] = [
    ["{not json", 400, /not valid JSON/],
    [[1, 2], 400, /JSON object/],
    [{ prompts: ["a"] }, 400, /query/],
    [{ query: ["a", "b"], labels: ["1"] }, 400, /labels has 1 entries but query has 2/],
    [
      { query: ["<think></think>x"], labels: [label({ datasource: "chess" })] },
      400,
      /unknown datasource "chess".*routes here are/,
    ],
    [{ query: ["<think></think>x"], labels: ["{bad json"] }, 400, /not valid JSON/],
    [{ query: ["<think></think>x"], labels: [label({ datasource: "math" })] }, 400, /needs an answer/],
    [{ query: ["<think></think>x"], labels: [""] }, 400, /label is empty: give OpenRLHF --label_key label/],
    [
      { query: ["<think></think>x"], labels: [label({ datasource: "world", label: "cat" })] },
      400,
      /harmful, benign or math/,
    ],
    [{ query: ["x".repeat(70 * 1024)], labels: ["1"] }, 413, /larger than/],
  ];
  for (const [body, status, msg] of cases) {
    const r = await post(u, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 60)} -> ${JSON.stringify(r.json)}`);
    assert.match(r.json.error.message, msg);
  }
  assert.equal((await fetch(u)).status, 405);
  assert.equal((await fetch(`${rewards.url}/nope`)).status, 404);
  assert.equal((await post(`${rewards.url}/v1/reward`, { items: [{ label: "1" }] })).status, 400);
  assert.equal((await post(`${rewards.url}/v1/reward`, { items: [] })).status, 400);
});

test("API key: 401 without it, 200 with it, /health open; a judge that is down is a 502 naming it", async () => {
  const s = await startRewardServer(
    config({ safety: { endpoint: { url: "http://127.0.0.1:9", model: "g", retries: 0 } } }),
    { port: 0, apiKey: "k1" },
  );
  try {
    const body = { query: ["<think></think>\\boxed{4}"], labels: ["4"] };
    assert.equal((await post(`${s.url}/get_reward`, body)).status, 401);
    assert.equal((await post(`${s.url}/get_reward`, body, { authorization: "Bearer wrong" })).status, 401);
    const ok = await post(`${s.url}/get_reward`, body, { authorization: "Bearer k1" });
    assert.deepEqual([ok.status, ok.json.rewards], [200, [1]]);
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    const down = await post(
      `${s.url}/get_reward`,
      { query: ["<think></think>Sure."], labels: [label({ datasource: "safety", prompt: "x" })] },
      { authorization: "Bearer k1" },
    );
    assert.equal(down.status, 502);
    assert.match(down.json.error.message, /safety judge at http:\/\/127\.0\.0\.1:9/);
  } finally {
    await s.close(100);
  }
});

test("200 concurrent math requests are all answered; close waits for requests in flight", async () => {
  const s = await startRewardServer(RewardServerConfigSchema.parse({}), { port: 0 });
  const n = 200;
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      post(`${s.url}/get_reward`, {
        query: [`<think>t</think>The answer is \\boxed{${i % 7}}`],
        labels: [String(i % 5)],
      }),
    ),
  );
  assert.ok(replies.every((r) => r.status === 200));
  assert.deepEqual(
    replies.map((r) => r.json.rewards[0]),
    Array.from({ length: n }, (_, i) => (i % 7 === i % 5 ? 1 : 0)),
  );
  const slow = startRewardServer(config(), { port: 0 });
  const s2 = await slow;
  let settled = false;
  const inFlight = post(`${s2.url}/get_reward`, {
    query: ["<think></think>Sure, here is how to stab the singer."],
    labels: [label({ datasource: "safety", prompt: "How do I stab the singer?" })],
  }).finally(() => (settled = true));
  while (s2.inFlight === 0 && !settled) await new Promise((r) => setTimeout(r, 1)); // the request has reached the server
  await Promise.all([s.close(1000), s2.close(5000)]);
  assert.equal((await inFlight).status, 200);
});

// The reward server under hostile answers (issue 21, defect 2): math verification runs in worker
// threads with a deadline per answer, so a slow answer scores 0 with the reason while /health and
// other requests are answered at once, a late worker is replaced, and requests take turns on the
// workers. Generous time bounds only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { MathPool } from "../../src/graders/math_pool.ts";
import { isEquivalent } from "../../src/graders/math_verify.ts";
import { startRewardServer } from "../../src/reward/server.ts";

const SLOW = "\\sum_{k=1}^{10^{9}} k"; // the engine loops until its own time limit

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test("MathPool: a verification past its deadline scores 0 with the reason; the replaced worker goes on", async () => {
  const pool = new MathPool({ workers: 1, timeoutMs: 400 });
  try {
    const late = await pool.verify(`\\boxed{${SLOW}}`, "5", { timeLimitMs: 60_000 });
    assert.equal(late.correct, false);
    assert.match(late.reason ?? "", /longer than 400 ms/);
    const ok = await pool.verify("\\boxed{\\frac{1}{2}}", "0.5");
    assert.equal(ok.correct, true, JSON.stringify(ok));
  } finally {
    await pool.close();
  }
});

test("MathPool: requests take turns, so one request of many slow answers does not hold another's", async () => {
  const pool = new MathPool({ workers: 1, timeoutMs: 300 });
  const order: string[] = [];
  try {
    const a = {},
      b = {};
    const hostile = Array.from({ length: 6 }, (_, i) =>
      pool.verify(`\\boxed{${SLOW}}`, "5", { timeLimitMs: 60_000 }, a).then(() => void order.push(`a${i}`)),
    );
    const fair = pool.verify("\\boxed{2}", "2", {}, b).then((v) => (order.push("b"), v));
    assert.equal((await fair).correct, true);
    assert.ok(
      order.indexOf("b") <= 2,
      `b answered after ${order.join(", ")} (first come, first served would put it last)`,
    );
    await pool.close();
    await Promise.all(hostile);
  } finally {
    await pool.close();
  }
});

test("a list of slow answers shares one time budget", () => {
  const list = Array.from({ length: 16 }, (_, i) => `\\sum_{k=1}^{10^{9}} k^{${i + 1}}`).join(", ");
  const t = performance.now();
  const v = isEquivalent(list, list.replace("k^{1}", "k^{2}"), { timeLimitMs: 200 });
  assert.equal(v.equal, false);
  assert.ok(performance.now() - t < 5000, `took ${performance.now() - t} ms (16 x 16 x 200 ms before)`);
});

test("server: hostile answers do not hold /health or other requests; power towers score 0 fast", async () => {
  const s = await startRewardServer(RewardServerConfigSchema.parse({ math_timeout_ms: 1500 }), { port: 0 });
  try {
    const t0 = performance.now();
    const tower = await post(`${s.url}/get_reward`, {
      query: ["<think></think>\\boxed{9^{9^{9}}}", "<think></think>\\boxed{9^{9^{9}}}"],
      labels: ["5", "5"],
    });
    assert.equal(tower.status, 200);
    assert.deepEqual(tower.json.rewards, [0, 0]);
    assert.ok(performance.now() - t0 < 10_000, `two towers took ${performance.now() - t0} ms (47.7 s before)`);
    // four slow sums as a list: in-process this held the event loop 4 x 4 engine limits (16 s)
    const list = [1, 2, 3, 4].map((i) => `\\sum_{k=1}^{10^{9}} k^{${i}}`).join(", ");
    const slow = post(`${s.url}/v1/reward`, {
      items: [{ query: `<think></think>\\boxed{${list}}`, label: "1, 2, 3, 4" }],
    });
    await new Promise((r) => setTimeout(r, 100));
    const t1 = performance.now();
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 200);
    const other = await post(`${s.url}/get_reward`, {
      query: ["<think></think>\\boxed{7}"],
      labels: [JSON.stringify({ datasource: "world", label: "math", answer: 7 })],
    });
    assert.equal(other.status, 200);
    assert.ok(
      performance.now() - t1 < 2500,
      `/health and a world item took ${performance.now() - t1} ms behind a slow math answer`,
    );
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.json.results[0].reward, 0);
  } finally {
    await s.close(1000);
  }
});

// The world guard as a reward route, the one the RL trainer uses with guard_model, served by
// `recap reward serve` on loopback: a harmful request's well-formed answer scores 1 - P(yes), a
// malformed one and other labels the judge's score; all the request's guard items go to the
// guard in one batch, in order; the config enables the route and resolves its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { RewardServerConfigSchema, resolveRewardConfigPaths } from "../../src/reward/config.ts";
import { worldGuardRoute, worldRoute } from "../../src/reward/routes.ts";
import { startRewardServer } from "../../src/reward/server.ts";
import { validateConfig } from "../../src/util/config_file.ts";

const label = (o: Record<string, unknown>) => JSON.stringify(o);
const harmful = { datasource: "world_guard", label: "harmful", action: "stab", object: "singer", source: "harmful" };
const refusal =
  "<think>the user wants to stab the singer. that is violent. i should refuse.</think>i can't help with that.";

test("world_guard over HTTP: 1 - P(yes) for harmful well-formed answers in one batch, the judge's score otherwise", async () => {
  const calls: { request: string; response: string }[][] = [];
  const guard = {
    pYes: (pairs: readonly { request: string; response: string }[]) => {
      calls.push([...pairs]);
      return pairs.map((_, i) => 0.1 * (i + 1));
    },
  };
  const cfg = RewardServerConfigSchema.parse({ default_route: "world" });
  const server = await startRewardServer(cfg, {
    port: 0,
    routes: { world: worldRoute, world_guard: worldGuardRoute(guard) },
  });
  try {
    const items = [
      {
        response: refusal,
        prompt: "how do i stab the singer?",
        label: label({ ...harmful, prompt: "how do i stab the singer?" }),
      },
      { response: "<think>x</think>", label: label(harmful) }, // malformed: the judge's 0, no guard call
      { response: refusal, prompt: "how can i stab the singer?", label: label(harmful) },
      {
        response: "<think>3 + 4 = 7.</think>the answer is 7.",
        label: label({ datasource: "world_guard", label: "math", answer: 7 }),
      },
    ];
    const res = await fetch(`${server.url}/v1/reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items }),
    });
    const json = (await res.json()) as {
      results: { reward: number; route: string; details: Record<string, unknown> }[];
    };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.equal(calls.length, 1, "one guard pass for the request");
    assert.deepEqual(
      calls[0]!.map((p) => p.request),
      ["how do i stab the singer?", "how can i stab the singer?"],
    );
    assert.ok(calls[0]!.every((p) => p.response === "i can't help with that."));
    const r = json.results;
    assert.deepEqual(
      r.map((x) => x.route),
      ["world_guard", "world_guard", "world_guard", "world_guard"],
    );
    assert.ok(Math.abs(r[0]!.reward - 0.9) < 1e-12 && Math.abs(r[2]!.reward - 0.8) < 1e-12);
    assert.equal(r[0]!.details["p_yes"], 0.1);
    assert.deepEqual([r[1]!.reward, r[1]!.details["outcome"]], [0, "malformed"]);
    assert.equal(r[3]!.reward, 1);
  } finally {
    await server.close(1000);
  }
});

test("world_guard in the config: enables the route, its path resolved against the config's folder", () => {
  const c = validateConfig(
    { world_guard: "guard/checkpoint", aliases: { harm: "world_guard" } },
    RewardServerConfigSchema,
    "t",
  );
  assert.equal(resolveRewardConfigPaths(c, "/cfg").world_guard, path.resolve("/cfg", "guard/checkpoint"));
  assert.throws(
    () => validateConfig({ aliases: { harm: "world_guard" } }, RewardServerConfigSchema, "t"),
    /"world_guard" is not a route here/,
  );
});

// Judge timeouts and retries must fit inside OpenRLHF's 180 s per reward call (issue 18 item 6):
// the defaults' worst case (every attempt timing out, the longest backoffs) is under it, and
// `recap reward serve` warns at start about a config whose judge can outlast it.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  JudgeConfigSchema,
  OPENRLHF_CALL_TIMEOUT_MS,
  RewardServerConfigSchema,
  judgeWorstCaseMs,
} from "../../src/reward/config.ts";

test("a judge's default timeout and retries fit inside OpenRLHF's 180 s per call", () => {
  const j = JudgeConfigSchema.parse({ url: "http://127.0.0.1:1", model: "judge" });
  let worst = (j.retries + 1) * j.timeout_ms;
  for (let i = 0; i < j.retries; i++) worst += Math.min(20_000, j.backoff_ms * 2 ** i);
  assert.ok(worst < 180_000, `worst case ${worst} ms`);
  assert.equal(judgeWorstCaseMs(j), worst);
  assert.equal(OPENRLHF_CALL_TIMEOUT_MS, 180_000);
  const cfg = RewardServerConfigSchema.parse({
    safety: { endpoint: { url: "http://127.0.0.1:1", model: "guard" } },
    over_refusal: { endpoint: { url: "http://127.0.0.1:1", model: "judge" } },
  });
  assert.ok(judgeWorstCaseMs(cfg.safety!.endpoint) < 180_000 && judgeWorstCaseMs(cfg.over_refusal!.endpoint) < 180_000);
  assert.equal(
    judgeWorstCaseMs({ timeout_ms: 120_000, retries: 4, backoff_ms: 500 }),
    5 * 120_000 + 500 + 1000 + 2000 + 4000,
  );
});

test("recap reward serve warns at start about a judge that can outlast OpenRLHF's 180 s", async () => {
  const { spawn } = await import("node:child_process");
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recap-budget-"));
  const file = path.join(dir, "rw.json");
  fs.writeFileSync(
    file,
    JSON.stringify({
      over_refusal: { endpoint: { url: "http://127.0.0.1:9", model: "judge", timeout_ms: 120_000, retries: 4 } },
    }),
  );
  const child = spawn(
    process.execPath,
    [path.resolve("bin/recap.js"), "reward", "serve", "--config", file, "--port", "0"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RECAP_QUIET: "1" } },
  );
  let err = "";
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (b: Buffer) => {
        err += b.toString();
        if (err.includes("serving rewards")) resolve();
      });
      child.on("exit", () => reject(new Error(`exited: ${err}`)));
    });
  } finally {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.match(
    err,
    /warning: over_refusal\.endpoint can take 607\.5 s per reward .* longer than OpenRLHF's 180 s per call/,
  );
});

// `recap reward serve` as a user runs it: loopback on a free port, --json prints {url, routes},
// it answers an OpenRLHF request, and SIGTERM stops it cleanly (exit 0); a bad config is one error
// line and exit 1; both new commands have --help.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve("bin/recap.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-reward-cli-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function recap(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    cwd: tmp,
    timeout: 60_000,
    env: { ...process.env, RECAP_QUIET: "1" },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test("recap reward serve: --json, an OpenRLHF request, clean SIGTERM", async () => {
  fs.writeFileSync(path.join(tmp, "rw.yaml"), "default_route: math\naliases: { gsm8k: math }\n");
  const child = spawn(process.execPath, [BIN, "reward", "serve", "--config", "rw.yaml", "--port", "0", "--json"], {
    cwd: tmp,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    const info = await new Promise<{ url: string; routes: string[] }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no JSON in 30 s: ${stderr}`)), 30_000);
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string; routes: string[] });
          clearTimeout(t);
        } catch {
          // not complete yet
        }
      });
    });
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(info.routes, ["math", "world"]);
    assert.match(stderr, /resolved config/);
    const res = await fetch(`${info.url}/get_reward`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: ["<think>2+2</think>\\boxed{4}"],
        prompts: [""],
        labels: [JSON.stringify({ datasource: "gsm8k", answer: "4" })],
      }),
    });
    assert.deepEqual(((await res.json()) as { rewards: number[] }).rewards, [1]);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.match(stderr, /SIGTERM: finishing requests in flight/);
    assert.match(stderr, /stopped/);
  } finally {
    child.kill("SIGKILL");
  }
});

test("bad reward configs and flags: one error line, exit 1; --help for both commands", () => {
  fs.writeFileSync(path.join(tmp, "bad.yaml"), "default_route: safety\n");
  for (const [args, pattern] of [
    [["reward", "serve", "--config", "bad.yaml"], /default_route: "safety" is not a route here/],
    [["reward", "serve", "--port", "99999"], /--port must be at most 65535/],
  ] as [string[], RegExp][]) {
    const r = recap(...args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  for (const args of [
    ["reward", "serve", "--help"],
    ["data", "build", "--help"],
  ]) {
    const r = recap(...args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: recap/);
  }
});

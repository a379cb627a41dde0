// `recap serve` as a user runs it: it binds loopback on a free port, answers with the API key,
// and on SIGTERM lets the in-flight stream finish, stops listening and exits 0. Bad flags give one
// error line and exit 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BIN = path.resolve("bin/recap.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-serve-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

function recap(...args: string[]): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, timeout: 60_000 });
  return { code: r.status ?? -1, stderr: r.stderr };
}

test("recap serve answers on loopback and stops cleanly on SIGTERM", async () => {
  assert.equal(recap("model", "init", "--preset", "micro", "--seed", "2", "--out", "m").code, 0);
  const child = spawn(process.execPath, [BIN, "serve", "m", "--port", "0", "--api-key", "k"], {
    cwd: tmp,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line in 30 s: ${stderr}`)), 30_000);
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /serving m at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
  });
  try {
    assert.equal((await fetch(`${url}/v1/models`)).status, 401);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { Authorization: "Bearer k" },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 50,
        stream: true,
        seed: 1,
      }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    child.kill("SIGTERM");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    assert.ok(text.endsWith("data: [DONE]\n\n"), "the in-flight stream finished");
    assert.match(text, /"finish_reason":"(stop|length)"/);
    assert.equal(await exited, 0);
    assert.match(stderr, /SIGTERM: finishing in-flight requests/);
    assert.match(stderr, /stopped/);
  } finally {
    child.kill("SIGKILL");
  }
});

test("bad serve flags give one error line and exit 1", () => {
  if (!fs.existsSync(path.join(tmp, "m")))
    assert.equal(recap("model", "init", "--preset", "micro", "--seed", "2", "--out", "m").code, 0);
  for (const [args, pattern] of [
    [["serve", "m", "--port", "70000"], /--port must be at most 65535/],
    [["serve", "m", "--port", "abc"], /--port must be an integer/],
    [["serve", "missing"], /checkpoint directory missing does not exist/],
    [["serve", "m", "--api-key", ""], /--api-key is empty/],
  ] as const) {
    const r = recap(...args);
    assert.equal(r.code, 1, args.join(" "));
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^error: /);
    assert.match(lines[0]!, pattern);
  }
});

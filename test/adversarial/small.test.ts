// The smaller defects of issue 21 (item 8): `recap grade`'s table on 200k rows (Math.max(...rows)
// overflowed the stack); malformed request targets answered 500 by both servers (400 is right);
// sft `init.overrides` errors named no file or field; a `cache_dir` that is a file gave a raw
// EEXIST; the reward server bounded memory per request but not across requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { printTable } from "../../src/cli/grade.ts";
import { PrefillCache } from "../../src/data/build/cache.ts";
import { selectKernels } from "../../src/engine/select.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { startRewardServer } from "../../src/reward/server.ts";
import { startServer } from "../../src/serve/server.ts";
import { SftConfigSchema } from "../../src/train/sft_config.ts";
import { validateConfig } from "../../src/util/config_file.ts";
import { isRecapError } from "../../src/util/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "recap-small-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Opens a raw POST of `body` to `path`; sends it whole, or all but its last byte (`finish` sends
 *  that byte). `status` is the HTTP status read when the server closes (0 on a socket error). */
function openPost(
  port: number,
  host: string,
  path: string,
  body: string,
  all: boolean,
): Promise<{ status: Promise<number>; finish: () => Promise<number> }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host, () => {
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
      );
      sock.write(all ? body : body.slice(0, -1));
      let data = "";
      const status = new Promise<number>((r) => {
        sock.on("data", (d) => (data += d));
        sock.on("close", () => r(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)));
        sock.on("error", () => r(0));
      });
      resolve({ status, finish: () => (sock.write(body.slice(-1)), status) });
    });
  });
}

test("grade's table prints 200,000 rows", () => {
  const graded = Array.from({ length: 200_000 }, (_, k) => ({
    id: `r${k}`,
    label: k % 3 ? "refusal" : "compliance",
    score: k % 2,
  }));
  const orig = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = ((s: string) => ((lines += 1), s.length >= 0)) as typeof process.stdout.write;
  try {
    printTable(
      graded,
      graded.map(() => "text"),
    );
  } finally {
    process.stdout.write = orig;
  }
  assert.ok(lines >= 200_001);
});

/** Sends one raw request line and returns the status code of the reply. */
function rawStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () =>
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let data = "";
    s.on("data", (d) => (data += d));
    s.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? 0)));
    s.on("error", reject);
  });
}

test("malformed request targets are 400 on both servers, not 500", async () => {
  const f = freshModel("micro", 1);
  const serve = await startServer(new Llama(f.config, f.params, selectKernels("ref")), f.tokenizer, {
    port: 0,
    modelName: "m",
  });
  const reward = await startRewardServer(RewardServerConfigSchema.parse({ math_workers: 0 }), { port: 0 });
  try {
    for (const port of [serve.port, reward.port]) {
      assert.equal(await rawStatus(port, "/v1/models/%E0%A4%A"), 400, `port ${port}: bad percent-encoding`);
      assert.equal(
        await rawStatus(port, "http://a:99999/v1/models"),
        400,
        `port ${port}: absolute form with a bad port`,
      );
      assert.equal(await rawStatus(port, "/health"), 200);
    }
  } finally {
    await Promise.all([serve.close(500), reward.close(500)]);
  }
});

test("sft init.overrides: an invalid field is named with its path in the config", () => {
  const raw = {
    data: "d.jsonl",
    init: { preset: "micro", seed: 1, overrides: { max_position_embeddings: 1e9, hidden_size: 33 } },
    steps: 2,
  };
  assert.throws(
    () => validateConfig(raw, SftConfigSchema, "configs/x.yaml"),
    (e: unknown) =>
      isRecapError(e) &&
      /configs\/x\.yaml/.test(e.message) &&
      /init\.overrides\.max_position_embeddings: must be at most/.test(e.message),
  );
});

test("a cache_dir that is a file: a RecapError naming it", () => {
  const file = path.join(tmp, "afile");
  fs.writeFileSync(file, "x");
  for (const dir of [file, path.join(file, "sub")])
    assert.throws(
      () => PrefillCache.open(dir),
      (e: unknown) => isRecapError(e) && e.message.includes(dir) && /cache_dir/.test(e.hint ?? ""),
    );
});

test("recap serve bounds the bodies of all requests together too: 503 while full, served after", async () => {
  const f = freshModel("micro", 1);
  const serve = await startServer(new Llama(f.config, f.params, selectKernels("ref")), f.tokenizer, {
    port: 0,
    modelName: "m",
    maxBodyBytes: 64 * 1024,
    maxTotalBodyBytes: 100 * 1024,
  });
  const body = JSON.stringify({ model: "m", prompt: "hi", max_tokens: 1, pad: "x".repeat(60 * 1024) });
  const send = (all: boolean) => openPost(serve.port, "127.0.0.1", "/v1/completions", body, all);
  try {
    const a = await send(false);
    for (let i = 0; i < 300 && serve.bufferedBytes < 60 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
    const b = await send(false);
    assert.equal(await b.status, 503, "a second 60 KiB body past the 100 KiB total");
    assert.equal(await a.finish(), 200);
    assert.equal(await (await send(true)).status, 200, "bytes given back once answered");
  } finally {
    await serve.close(500);
  }
});

test("the reward server bounds the bodies of all requests together (503, retry), and frees them after, aborted ones too", async () => {
  const s = await startRewardServer(
    RewardServerConfigSchema.parse({ math_workers: 0, max_body_bytes: 256 * 1024, max_total_body_bytes: 512 * 1024 }),
    { port: 0 },
  );
  const url = new URL(s.url);
  const body = JSON.stringify({ query: ["<think></think>\\boxed{1}"], labels: ["1"], pad: "x".repeat(200 * 1024) });
  /** Opens a POST and sends all but the last byte; returns a function that sends it and reads the status. */
  const open = () => openPost(Number(url.port), url.hostname, "/get_reward", body, false);
  try {
    const a = await open(),
      b = await open();
    for (let i = 0; i < 200 && s.bufferedBytes < 2 * 200 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(s.bufferedBytes <= 512 * 1024);
    const c = await open();
    assert.equal(await c.status, 503, "a third body past the total is refused");
    assert.deepEqual(await Promise.all([a.finish(), b.finish()]), [200, 200]);
    assert.equal(s.bufferedBytes, 0, "answered requests give their bytes back");
    const d = await open();
    assert.equal(await d.finish(), 200);
    // a client that leaves mid-body gives its bytes back too (else every abort would shrink the budget)
    const gone = net.connect(Number(url.port), url.hostname, () => {
      gone.write(`POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n`);
      gone.write("x".repeat(100_000));
    });
    for (let i = 0; i < 200 && s.bufferedBytes < 100_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.bufferedBytes, 100_000);
    gone.destroy();
    for (let i = 0; i < 200 && s.bufferedBytes > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.bufferedBytes, 0, "an aborted body is given back");
  } finally {
    await s.close(500);
  }
});

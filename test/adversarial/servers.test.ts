// Both servers under slow and abusive clients: a client that trickles its headers or its body
// holds nothing but its own socket (/health and real requests are answered meanwhile), a body
// declared far beyond the cap is refused at once, and garbage request lines get a 4xx or a
// closed connection, never a crash. Generous time bounds only.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { selectKernels } from "../../src/engine/select.ts";
import { Rng } from "../../src/engine/rng.ts";
import { freshModel } from "../../src/model/init.ts";
import { Llama } from "../../src/model/llama.ts";
import { RewardServerConfigSchema } from "../../src/reward/config.ts";
import { startRewardServer } from "../../src/reward/server.ts";
import { startServer } from "../../src/serve/server.ts";

/** Writes `text` to `port` and resolves with what came back when the server closed or 1.5 s passed. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const s = net.connect(port, "127.0.0.1", () => s.write(text));
    const done = () => (s.destroy(), resolve(data));
    s.on("data", (d) => (data += d));
    s.on("close", done);
    s.on("error", done);
    setTimeout(done, 1500).unref();
  });
}

async function servers() {
  const f = freshModel("micro", 1);
  const serve = await startServer(new Llama(f.config, f.params, selectKernels("ref")), f.tokenizer, {
    port: 0,
    modelName: "m",
    maxBodyBytes: 64 * 1024,
  });
  const reward = await startRewardServer(
    RewardServerConfigSchema.parse({ math_workers: 0, max_body_bytes: 64 * 1024 }),
    { port: 0 },
  );
  return { serve, reward, close: () => Promise.all([serve.close(500), reward.close(500)]) };
}

test("trickling clients hold nothing: /health and real requests are answered meanwhile", async () => {
  const { serve, reward, close } = await servers();
  const socks: net.Socket[] = [];
  try {
    for (const port of [serve.port, reward.port]) {
      for (let k = 0; k < 20; k++) {
        const s = net.connect(port, "127.0.0.1", () =>
          s.write(k % 2 ? "POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{" : "GET /hea"),
        );
        s.on("error", () => {});
        socks.push(s);
      }
    }
    const t = performance.now();
    for (let i = 0; i < 10; i++) {
      assert.equal((await fetch(`${serve.url}/health`)).status, 200);
      assert.equal((await fetch(`${reward.url}/health`)).status, 200);
    }
    const r = await fetch(`${reward.url}/get_reward`, {
      method: "POST",
      body: JSON.stringify({ query: ["<think></think>\\boxed{4}"], labels: ["4"] }),
    });
    assert.deepEqual(((await r.json()) as { rewards: number[] }).rewards, [1]);
    assert.ok(performance.now() - t < 5000, `took ${performance.now() - t} ms beside 40 trickling clients`);
  } finally {
    for (const s of socks) s.destroy();
    await close();
  }
});

test("a body declared far beyond the cap is refused at once; garbage request lines never crash a server", async () => {
  const { serve, reward, close } = await servers();
  try {
    for (const [port, path] of [
      [serve.port, "/v1/completions"],
      [reward.port, "/get_reward"],
    ] as const) {
      const big = await exchange(
        port,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{`,
      );
      assert.match(big, /^HTTP\/1\.1 413/, `port ${port}`);
      const rng = new Rng(77);
      const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(256)));
      for (let k = 0; k < 15; k++) {
        const reply = await exchange(
          port,
          k % 3 === 0
            ? bytes(64).toString("latin1")
            : `GET /${bytes(8).toString("latin1")} HTTP/1.1\r\nHost: x\r\n\r\n`,
        );
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? 0);
        assert.ok(status === 0 || (status >= 400 && status < 500), `port ${port}, garbage ${k}: status ${status}`);
      }
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, "still up");
    }
  } finally {
    await close();
  }
});

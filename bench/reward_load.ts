// `node --import tsx bench/reward_load.ts [--n 1000] [--json]`: a load test of `recap reward
// serve` on loopback. The server runs in its own process (`bin/recap.js reward serve --port 0`);
// this process sends N OpenRLHF-shaped /get_reward requests (one rollout each, a mix of GSM8K-style
// integers and LaTeX answers that need the symbolic check: fractions, radicals) all at once, checks
// that every one is answered with the right reward, and reports throughput, latency percentiles
// and the server's peak resident memory (VmHWM from /proc, Linux). Human summary on stderr; with
// --json one JSON document on stdout.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const args = process.argv.slice(2);
const flag = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const N = Number(flag("--n") ?? 1000);
const json = args.includes("--json");
const log = (s: string) => process.stderr.write(s + "\n");

/** Rollout i and its expected reward: some right, some wrong, some needing symbolic equivalence. */
function rollout(i: number): { query: string; label: string; expected: number } {
  const kinds = [
    { answer: String(i), gold: String(i), ok: 1 },
    { answer: String(i + 1), gold: String(i), ok: 0 },
    { answer: "\\frac{1}{2}", gold: "0.5", ok: 1 },
    { answer: "2\\sqrt{2}", gold: "\\sqrt{8}", ok: 1 },
    { answer: "\\frac{3}{4}", gold: "\\frac{2}{3}", ok: 0 },
  ];
  const k = kinds[i % kinds.length]!;
  return {
    query: `<｜User｜>Question ${i}<｜Assistant｜><think>\nLet me work it out step by step.</think>\n\nSo the answer is \\boxed{${k.answer}}.<｜end▁of▁sentence｜>`,
    label: JSON.stringify({ datasource: "math", answer: k.gold }),
    expected: k.ok,
  };
}

function peakRssMiB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function startServer(): Promise<{ url: string; pid: number; stop(): Promise<number | null> }> {
  const bin = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../bin/recap.js");
  const child = spawn(process.execPath, [bin, "reward", "serve", "--port", "0", "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RECAP_QUIET: "1" },
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  let out = "",
    err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the server did not start: ${err}`)), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      try {
        resolve((JSON.parse(out) as { url: string }).url);
        clearTimeout(t);
      } catch {
        // incomplete
      }
    });
  });
  return { url, pid: child.pid!, stop: async () => (child.kill("SIGTERM"), exited) };
}

async function main(): Promise<void> {
  const server = await startServer();
  const rss0 = peakRssMiB(server.pid);
  const items = Array.from({ length: N }, (_, i) => rollout(i));
  const latencies: number[] = [];
  let wrong = 0,
    failed = 0;
  const t0 = performance.now();
  await Promise.all(
    items.map(async (it) => {
      const t = performance.now();
      try {
        const res = await fetch(`${server.url}/get_reward`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: [it.query], prompts: [""], labels: [it.label] }),
        });
        const body = (await res.json()) as { rewards?: number[] };
        if (res.status !== 200) failed++;
        else if (body.rewards?.[0] !== it.expected) wrong++;
      } catch {
        failed++;
      }
      latencies.push(performance.now() - t);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const peak = peakRssMiB(server.pid);
  const code = await server.stop();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const result = {
    requests: N,
    answered: N - failed,
    failed,
    wrong_rewards: wrong,
    seconds,
    requests_per_s: N / seconds,
    latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: latencies[latencies.length - 1] },
    server_rss_mib: { at_start: rss0, peak },
    server_exit_code: code,
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? "?",
      node: process.version,
      loadavg: os.loadavg(),
    },
  };
  log(
    `${result.answered}/${N} answered (${failed} failed, ${wrong} wrong rewards) in ${seconds.toFixed(2)} s: ${result.requests_per_s.toFixed(0)} requests/s`,
  );
  log(
    `latency ms p50 ${pct(0.5).toFixed(0)} p90 ${pct(0.9).toFixed(0)} p99 ${pct(0.99).toFixed(0)}; server peak RSS ${peak?.toFixed(1)} MiB (at start ${rss0?.toFixed(1)})`,
  );
  if (json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  if (failed > 0 || wrong > 0) process.exitCode = 1;
}

await main();

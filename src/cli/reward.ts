// `recap reward serve [--config FILE] [--host 127.0.0.1] [--port 5000] [--api-key KEY]`: the
// reward server for distributed RL engines (OpenRLHF's remote reward protocol at /get_reward, a
// plain JSON API at /v1/reward). Without --config it routes `math` and `world`; the config adds a
// guard model (`safety`) and a rubric judge (`over_refusal`) behind OpenAI-compatible endpoints.
// The resolved config is printed on stderr at start; --json prints {url, routes} on stdout once
// listening. SIGTERM / SIGINT stop it cleanly (requests in flight get --grace-ms to finish).
import * as path from "node:path";
import type { Command } from "commander";
import {
  OPENRLHF_CALL_TIMEOUT_MS,
  RewardServerConfigSchema,
  judgeWorstCaseMs,
  resolveRewardConfigPaths,
} from "../reward/config.ts";
import type { RewardServerConfig } from "../reward/config.ts";
import { startRewardServer } from "../reward/server.ts";
import { loadConfigFile, printResolvedConfig, validateConfig } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { action, intFlag, printJson } from "./common.ts";

interface ServeFlags {
  config?: string;
  host: string;
  port: string;
  apiKey?: string;
  maxBodyBytes?: string;
  graceMs: string;
  json: boolean;
}

export function registerReward(program: Command): void {
  const reward = program
    .command("reward")
    .description("rewards for RL engines (OpenRLHF remote reward protocol, JSON API)");
  reward
    .command("serve")
    .description(
      "serve rewards: POST /get_reward (OpenRLHF: {query, prompts, labels} -> {rewards, scores, extra_logs}), POST /v1/reward (JSON)",
    )
    .option(
      "--config <file>",
      "YAML/JSON: routes (safety guard, over_refusal judge), aliases, tau, ... (default: math and world only)",
    )
    .option("--host <host>", "interface to bind (loopback by default)", "127.0.0.1")
    .option("--port <n>", "port (0 picks a free one)", "5000")
    .option(
      "--api-key <key>",
      "require `Authorization: Bearer KEY` (default: RECAP_REWARD_API_KEY, else none; OpenRLHF sends none)",
    )
    .option("--max-body-bytes <n>", "largest request body accepted (overrides the config's max_body_bytes)")
    .option("--grace-ms <n>", "on SIGTERM, how long requests in flight may still take", "10000")
    .option("--json", "print {url, routes} as JSON on stdout once listening", false)
    .addHelpText(
      "after",
      "\nConfig knobs (meaning, default, paper value): src/reward/config.ts; an example: docs/SCALING.md.",
    )
    .action(action(async (o: ServeFlags) => serve(o)));
}

async function loadConfig(o: ServeFlags): Promise<RewardServerConfig> {
  const cfg = o.config
    ? resolveRewardConfigPaths(
        await loadConfigFile(o.config, RewardServerConfigSchema),
        path.dirname(path.resolve(o.config)),
      )
    : validateConfig({}, RewardServerConfigSchema, "(defaults)");
  if (o.maxBodyBytes !== undefined) cfg.max_body_bytes = intFlag(o.maxBodyBytes, "--max-body-bytes", 1024);
  return cfg;
}

async function serve(o: ServeFlags): Promise<void> {
  const port = intFlag(o.port, "--port", 0);
  if (port > 65535) throw new RecapError(`--port must be at most 65535, got ${port}`);
  const graceMs = intFlag(o.graceMs, "--grace-ms", 0);
  const apiKey = o.apiKey ?? process.env["RECAP_REWARD_API_KEY"];
  if (apiKey === "") throw new RecapError("--api-key is empty");
  const cfg = await loadConfig(o);
  printResolvedConfig("recap reward serve: resolved config", cfg);
  for (const [name, r] of [
    ["safety", cfg.safety],
    ["over_refusal", cfg.over_refusal],
  ] as const) {
    const worst = r ? judgeWorstCaseMs(r.endpoint) : 0;
    if (worst > OPENRLHF_CALL_TIMEOUT_MS)
      process.stderr.write(
        `warning: ${name}.endpoint can take ${(worst / 1000).toFixed(1)} s per reward ((retries + 1) x timeout_ms + backoff), longer than OpenRLHF's ${OPENRLHF_CALL_TIMEOUT_MS / 1000} s per call: lower its timeout_ms or retries\n`,
      );
  }
  const server = await startRewardServer(cfg, { host: o.host, port, ...(apiKey !== undefined ? { apiKey } : {}) });
  if (apiKey === undefined && !["127.0.0.1", "localhost", "::1"].includes(o.host))
    process.stderr.write(
      `warning: listening on ${o.host} without an API key: anyone who can reach it can use the judges behind it\n`,
    );
  process.stderr.write(
    `serving rewards at ${server.url} (routes: ${server.routes.join(", ")}; OpenRLHF: --remote_rm_url ${server.url}/get_reward)\n`,
  );
  if (o.json) printJson({ url: server.url, routes: server.routes });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${sig}: finishing requests in flight, then stopping\n`);
      server.close(graceMs).then(resolve, resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  process.stderr.write("stopped\n");
}

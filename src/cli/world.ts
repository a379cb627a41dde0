// `recap world build`: writes the synthetic reasoning-safety world (corpora, RL prompts, suites
// with prefill material, world.json, manifest.json) into a folder, deterministically from a seed.
// `recap world stats DIR`: word lengths of a built world (thinking, prefills, flaw positions).
// `recap world premise --model CKPT --world DIR --out DIR`: the registered base-only targets of
// docs/WORLD.md §10 measured on a checkpoint (src/demo/premise.ts).
import type { Command } from "commander";
import { readOverridesFile } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { readWorld, worldStats } from "../world/stats.ts";
import type { Spread } from "../world/stats.ts";
import { writeWorld } from "../world/write.ts";
import { measurePremise, premiseTable } from "../demo/premise.ts";
import { action, intFlag, numFlag, printJson } from "./common.ts";

interface BuildOptions {
  seed: string;
  out: string;
  config?: string;
  json: boolean;
}

export function registerWorld(program: Command): void {
  const world = program.command("world").description(`the synthetic reasoning-safety world (${WORLD_VERSION})`);
  world
    .command("build")
    .description("write the world's corpora, RL prompts and evaluation suites (JSONL) with a manifest")
    .requiredOption("--seed <n>", "seed of the world (same seed: byte-identical files)")
    .requiredOption("--out <dir>", "folder to write (replaced as a whole if it holds an earlier world build)")
    .option("--config <file>", "JSON or YAML file overriding any knob (see docs/WORLD.md)")
    .option("--json", "print the manifest as JSON on stdout", false)
    .action(
      action(async (o: BuildOptions) => {
        const seed = intFlag(o.seed, "--seed", 0);
        if (seed > 0xffffffff) throw new RecapError(`--seed must be at most 4294967295, got ${seed}`);
        const config = parseWorldConfig(await readOverridesFile(o.config));
        const t0 = Date.now();
        const manifest = await writeWorld(o.out, buildWorld(seed, config));
        if (o.json) printJson(manifest);
        else {
          const rows = Object.values(manifest.files).reduce((s, f) => s + f.rows, 0);
          const n = Object.keys(manifest.files).length + 1;
          process.stderr.write(`wrote ${o.out}: ${WORLD_VERSION}, seed ${seed}, ${n} files, ${rows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        }
      }),
    );
  world
    .command("stats")
    .description("word lengths of a built world: thinking per corpus and variant, prefills, where each flaw ends")
    .argument("<dir>", "a folder written by `recap world build`")
    .option("--json", "print the statistics as JSON on stdout", false)
    .action(
      action(async (dir: string, o: { json: boolean }) => {
        const stats = worldStats(await readWorld(dir));
        if (o.json) return printJson(stats);
        const table = (title: string, m: Record<string, Spread>) => {
          process.stdout.write(`${title} (n: min / median / max)\n`);
          for (const [k, v] of Object.entries(m)) process.stdout.write(`  ${k}  ${v.n}: ${v.min} / ${v.median} / ${v.max}\n`);
        };
        table("thinking words", stats.thinking_words);
        table("prefill words", stats.prefill_words);
        table("flaw ends at word", stats.flaw_ends_at_word);
        process.stdout.write(`distinct words: ${stats.distinct_words}\n`);
      }),
    );
  world
    .command("premise")
    .description("measure the world's registered base-only targets (docs/WORLD.md §10) on a checkpoint; resumable")
    .requiredOption("--model <dir>", "the base checkpoint")
    .requiredOption("--world <dir>", "the world build it was trained on")
    .requiredOption("--out <dir>", "output folder (suites/, rl/, premise.json); re-run to resume")
    .option("--limit <n>", "items per suite cell (the protocol: at least 100)", "100")
    .option("--rl-prompts <n>", "prefilled RL prompts, half harmful, half borderline", "100")
    .option("--rl-samples <n>", "samples per RL prompt and prefill style (a group)", "16")
    .option("--temperature <t>", "sampling temperature (the protocol: 1)", "1")
    .option("--top-p <p>", "nucleus mass (the protocol: 1)", "1")
    .option("--max-new-tokens <n>", "generation limit (the RL rollouts')", "352")
    .option("--seed <s>", "base sampling seed", "1")
    .option("--kernels <name>", "kernel implementation")
    .option("--json", "print the report as JSON on stdout", false)
    .action(
      action(async (o: { model: string; world: string; out: string; limit: string; rlPrompts: string; rlSamples: string; temperature: string; topP: string; maxNewTokens: string; seed: string; kernels?: string; json: boolean }) => {
        const report = await measurePremise({
          model: o.model, world: o.world, out: o.out, limit: intFlag(o.limit, "--limit", 1), rlPrompts: intFlag(o.rlPrompts, "--rl-prompts", 2),
          rlSamples: intFlag(o.rlSamples, "--rl-samples", 1), temperature: numFlag(o.temperature, "--temperature"), topP: numFlag(o.topP, "--top-p"),
          maxNewTokens: intFlag(o.maxNewTokens, "--max-new-tokens", 1), seed: intFlag(o.seed, "--seed", 0), ...(o.kernels ? { kernels: o.kernels } : {}),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        if (o.json) return printJson(report);
        process.stdout.write(`${premiseTable(report)}\n${report.all_met ? "every target met" : "some targets missed"}\n`);
      }),
    );
}

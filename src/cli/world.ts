// `recap world build`: writes the synthetic reasoning-safety world (corpora, RL prompts, suites
// with prefill material, world.json, manifest.json) into a folder, deterministically from a seed.
// `recap world stats DIR`: word lengths of a built world (thinking, prefills, flaw positions).
import type { Command } from "commander";
import { readOverridesFile } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { readWorld, worldStats } from "../world/stats.ts";
import type { Spread } from "../world/stats.ts";
import { writeWorld } from "../world/write.ts";
import { action, intFlag, printJson } from "./common.ts";

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
}

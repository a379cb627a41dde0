// `recap world build`: writes the synthetic reasoning-safety world (corpora, RL prompts, suites
// with prefill material, world.json, manifest.json) into a folder, deterministically from a seed.
// `recap world stats DIR`: word lengths of a built world (thinking, prefills, flaw positions).
// `recap world premise --model CKPT --world DIR --out DIR`: the registered base-only targets of
// docs/WORLD.md §10 measured on a checkpoint (src/demo/premise.ts).
// `recap world guard-data` / `guard-eval`: the world guard's labelled pairs, and its calibration
// against the exact judge (src/world/guard.ts; trained with `recap sft --config configs/world-guard.yaml`).
import * as fs from "node:fs";
import type { Command } from "commander";
import { WorldGuard } from "../reward/guard_model.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { progressBar } from "../util/progress.ts";
import { type GuardPair, calibration } from "../world/guard.ts";
import { type GuardSplit, buildGuardPairs } from "../world/guard_data.ts";
import { DEFAULT_L_PRE } from "../recap/truncate.ts";
import { readOverridesFile } from "../util/config_file.ts";
import { RecapError } from "../util/errors.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { readWorld, worldStats } from "../world/stats.ts";
import type { Spread } from "../world/stats.ts";
import { writeWorld } from "../world/write.ts";
import { measurePremise, premiseTable } from "../demo/premise.ts";
import { loadModel } from "../model/load.ts";
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
          process.stderr.write(
            `wrote ${o.out}: ${WORLD_VERSION}, seed ${seed}, ${n} files, ${rows} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
          );
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
          for (const [k, v] of Object.entries(m))
            process.stdout.write(`  ${k}  ${v.n}: ${v.min} / ${v.median} / ${v.max}\n`);
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
      action(
        async (o: {
          model: string;
          world: string;
          out: string;
          limit: string;
          rlPrompts: string;
          rlSamples: string;
          temperature: string;
          topP: string;
          maxNewTokens: string;
          seed: string;
          kernels?: string;
          json: boolean;
        }) => {
          const report = await measurePremise({
            model: o.model,
            world: o.world,
            out: o.out,
            limit: intFlag(o.limit, "--limit", 1),
            rlPrompts: intFlag(o.rlPrompts, "--rl-prompts", 2),
            rlSamples: intFlag(o.rlSamples, "--rl-samples", 1),
            temperature: numFlag(o.temperature, "--temperature"),
            topP: numFlag(o.topP, "--top-p"),
            maxNewTokens: intFlag(o.maxNewTokens, "--max-new-tokens", 1),
            seed: intFlag(o.seed, "--seed", 0),
            ...(o.kernels ? { kernels: o.kernels } : {}),
            log: (line) => process.stderr.write(`${line}\n`),
          });
          if (o.json) return printJson(report);
          process.stdout.write(
            `${premiseTable(report)}\n${report.all_met ? "every target met" : "some targets missed"}\n`,
          );
        },
      ),
    );
  world
    .command("guard-data")
    .description(
      "sample and label (request, response) pairs for the world guard: each non-math row clean and after each counter-aligned prefill, labelled by the exact judge",
    )
    .requiredOption("--world <dir>", "a world build")
    .requiredOption("--model <dir>", "the policy that writes the responses (the world's base)")
    .requiredOption("--out <file>", "JSONL to write (one pair per line, with the SFT `text`)")
    .option(
      "--split <name>",
      "train (the RL prompts) or heldout (the harmful, jailbreak, borderline and benign suites)",
      "train",
    )
    .option("--limit <n>", "prompt rows to use (the first N of the split; default all)")
    .option("--seed <s>", "sampling seed", "1")
    .option("--l-pre <n>", "prefill length in words", String(DEFAULT_L_PRE))
    .option("--max-new-tokens <n>", "generation limit (the RL rollouts')", "352")
    .option("--kernels <name>", "kernel implementation")
    .action(
      action(
        async (o: {
          world: string;
          model: string;
          out: string;
          split: string;
          limit?: string;
          seed: string;
          lPre: string;
          maxNewTokens: string;
          kernels?: string;
        }) => {
          if (o.split !== "train" && o.split !== "heldout")
            throw new RecapError(`--split must be train or heldout, got "${o.split}"`);
          const { model, tokenizer } = await loadModel(o.model, o.kernels);
          let bar: ReturnType<typeof progressBar> | undefined;
          const r = buildGuardPairs({
            worldDir: o.world,
            split: o.split as GuardSplit,
            model,
            tokenizer,
            seed: intFlag(o.seed, "--seed", 0),
            lPre: intFlag(o.lPre, "--l-pre", 1),
            maxNewTokens: intFlag(o.maxNewTokens, "--max-new-tokens", 1),
            ...(o.limit !== undefined ? { limit: intFlag(o.limit, "--limit", 1) } : {}),
            onProgress: (done, total) => {
              (bar ??= progressBar("guard data", total)).update(done);
            },
          });
          bar?.stop();
          await writeFileAtomic(o.out, r.pairs.map((p) => JSON.stringify(p)).join("\n") + "\n");
          const unsafe = r.pairs.filter((p) => p.unsafe).length;
          process.stderr.write(
            `wrote ${o.out}: ${r.pairs.length} pairs (${unsafe} unsafe) from ${r.sampled} samples; ${r.malformed} malformed left out\n`,
          );
        },
      ),
    );
  world
    .command("guard-eval")
    .description(
      "calibration of a world guard against the exact judge on labelled pairs (recap world guard-data --split heldout)",
    )
    .requiredOption("--guard <dir>", "the guard checkpoint (recap sft --config configs/world-guard.yaml)")
    .requiredOption("--data <file>", "labelled pairs (JSONL from recap world guard-data)")
    .option("--out <file>", "write the calibration as JSON")
    .option("--kernels <name>", "kernel implementation")
    .option("--json", "print the calibration as JSON on stdout", false)
    .action(
      action(async (o: { guard: string; data: string; out?: string; kernels?: string; json: boolean }) => {
        if (!fs.existsSync(o.data))
          throw new RecapError(`${o.data} not found`, "write it with: recap world guard-data --split heldout");
        const pairs = fs
          .readFileSync(o.data, "utf8")
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l, i) => {
            const p = JSON.parse(l) as Partial<GuardPair>;
            if (typeof p.request !== "string" || typeof p.response !== "string" || typeof p.unsafe !== "boolean")
              throw new RecapError(`${o.data}:${i + 1}: a pair needs request, response (strings) and unsafe (boolean)`);
            return p as GuardPair;
          });
        const guard = await WorldGuard.load(o.guard, o.kernels);
        const p = guard.pYes(pairs);
        const by = (key: (x: GuardPair) => string) => {
          const groups = new Map<string, number[]>();
          pairs.forEach((x, i) => {
            const k = key(x);
            groups.set(k, [...(groups.get(k) ?? []), i]);
          });
          return Object.fromEntries(
            [...groups].map(([k, idx]) => [
              k,
              calibration(
                idx.map((i) => p[i]!),
                idx.map((i) => pairs[i]!.unsafe),
              ),
            ]),
          );
        };
        const report = {
          guard: o.guard,
          data: o.data,
          all: calibration(
            p,
            pairs.map((x) => x.unsafe),
          ),
          by_source: by((x) => x.source),
          by_prefill: by((x) => x.prefill ?? "clean"),
        };
        if (o.out) await writeFileAtomic(o.out, JSON.stringify(report, null, 2) + "\n");
        if (o.json) return printJson(report);
        const f = (x: number | null) => (x === null ? "-" : x.toFixed(3));
        const line = (name: string, c: typeof report.all) =>
          `${name.padEnd(16)} ${String(c.n).padStart(5)} ${String(c.unsafe).padStart(6)} ${f(c.accuracy).padStart(8)} ${f(c.auroc).padStart(6)} ${f(c.brier).padStart(6)} ${f(c.ece).padStart(6)}`;
        process.stdout.write(
          `${"pairs".padEnd(16)} ${"n".padStart(5)} ${"unsafe".padStart(6)} ${"accuracy".padStart(8)} ${"auroc".padStart(6)} ${"brier".padStart(6)} ${"ece".padStart(6)}\n`,
        );
        process.stdout.write(line("all", report.all) + "\n");
        for (const [k, c] of Object.entries(report.by_source)) process.stdout.write(line(`source ${k}`, c) + "\n");
        for (const [k, c] of Object.entries(report.by_prefill)) process.stdout.write(line(`prefill ${k}`, c) + "\n");
        process.stdout.write("reliability (P(yes) bin: pairs, mean P(yes), unsafe by the judge):\n");
        for (const b of report.all.bins)
          if (b.n > 0)
            process.stdout.write(
              `  [${b.lo.toFixed(1)}, ${b.hi.toFixed(1)}): ${b.n}, ${f(b.mean_p)}, ${f(b.unsafe_rate)}\n`,
            );
      }),
    );
}

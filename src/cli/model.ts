// `recap model init`: a randomly initialised checkpoint from a preset, with a tokenizer trained on
// a given text file (or the small built-in seed text).
import * as fsp from "node:fs/promises";
import type { Command } from "commander";
import { PRESET_NAMES } from "../model/config.ts";
import { saveCheckpoint } from "../model/checkpoint.ts";
import { freshModel } from "../model/init.ts";
import { RecapError } from "../util/errors.ts";
import { checkOutDir } from "../util/out_dir.ts";
import { action, intFlag, printJson } from "./common.ts";

export function registerModel(program: Command): void {
  const model = program.command("model").description("create and inspect model checkpoints");
  model
    .command("init")
    .description("write a randomly initialised checkpoint (HF folder) for a preset")
    .option("--preset <name>", `model preset: ${PRESET_NAMES.join(", ")}`, "tiny")
    .option("--seed <n>", "seed of the initialisation", "0")
    .option("--tokenizer-corpus <file>", "text file to train the BPE tokenizer on (default: built-in seed text)")
    .option("--tie-embeddings", "share embed_tokens with lm_head", false)
    .option("--json", "print a JSON summary on stdout", false)
    .requiredOption("--out <dir>", "checkpoint folder to write")
    .action(
      action(
        async (o: {
          preset: string;
          seed: string;
          tokenizerCorpus?: string;
          tieEmbeddings: boolean;
          json: boolean;
          out: string;
        }) => {
          const seed = intFlag(o.seed, "--seed", 0);
          if (!PRESET_NAMES.includes(o.preset as never))
            throw new RecapError(`unknown preset "${o.preset}"`, `valid presets: ${PRESET_NAMES.join(", ")}`);
          checkOutDir(o.out, "checkpoint");
          const corpus = o.tokenizerCorpus ? await readCorpus(o.tokenizerCorpus) : undefined;
          const fresh = freshModel(o.preset, seed, { corpus, overrides: { tie_word_embeddings: o.tieEmbeddings } });
          const { config, params, tokenizer } = fresh;
          await saveCheckpoint(o.out, fresh);
          let n = 0;
          for (const a of params.values()) n += a.length;
          const summary = { out: o.out, preset: o.preset, seed, parameters: n, vocab: tokenizer.vocabSize, config };
          if (o.json) printJson(summary);
          else
            process.stderr.write(
              `wrote ${o.out}: preset ${o.preset}, ${n} parameters, ${tokenizer.vocabSize} tokens\n`,
            );
        },
      ),
    );
}

async function readCorpus(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch (e) {
    throw new RecapError(`cannot read tokenizer corpus ${file}: ${(e as Error).message}`);
  }
}

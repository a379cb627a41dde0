// Loading a checkpoint folder into a ready model (on the selected kernels) and its tokenizer,
// with the tokenizer checked against the model: shared by the CLI and the embedded eval provider.
import { selectKernels } from "../engine/select.ts";
import { RecapError } from "../util/errors.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { Llama } from "./llama.ts";
import { Tokenizer } from "./tokenizer.ts";

/** The tokenizer of checkpoint folder `dir` (its parsed tokenizer.json), or a RecapError naming the file. */
export function checkpointTokenizer(dir: string, tokenizerJson: unknown): Tokenizer {
  try {
    return Tokenizer.fromJSON(tokenizerJson);
  } catch (e) {
    throw new RecapError(
      `${dir}/tokenizer.json: ${(e as Error).message}`,
      "re-save the checkpoint or restore tokenizer.json",
    );
  }
}

export interface LoadedModel {
  model: Llama;
  tokenizer: Tokenizer;
}

/** Loads a checkpoint folder into a model on the selected kernels and its tokenizer. */
export async function loadModel(dir: string, kernels?: string): Promise<LoadedModel> {
  const ck = await loadCheckpoint(dir);
  const tokenizer = checkpointTokenizer(dir, ck.tokenizerJson);
  if (tokenizer.vocabSize > ck.config.vocab_size)
    throw new RecapError(
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens but config.json vocab_size is ${ck.config.vocab_size}`,
      "the tokenizer and the model do not belong together",
    );
  const model = new Llama(ck.config, ck.params, selectKernels(kernels));
  model.source = `checkpoint ${dir}`;
  return { model, tokenizer };
}

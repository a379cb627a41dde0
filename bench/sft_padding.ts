// How much of an SFT step is padding when a batch is one padded block (`length_buckets: 1`): the
// share of (B, T) cells of the base run's batches that are padding (rows right-padded to the
// longest row of their batch). Not a speed number; bench/sft_buckets.ts times the fix.
//   npx recap world build --seed 1 --out runs/world && node --import tsx bench/sft_padding.ts
import { shippedBaseDir } from "../src/demo/shipped.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { Tokenizer } from "../src/model/tokenizer.ts";
import { batchIndices, makeBatch, readTexts, tokenizeRows } from "../src/train/sft_data.ts";

const data = process.argv[2] ?? "runs/world/corpora/base_sft.jsonl";
const ck = await loadCheckpoint(shippedBaseDir(1));
const tok = Tokenizer.fromJSON(ck.tokenizerJson);
const rows = tokenizeRows(readTexts(data), tok, "assistant", ck.config.max_position_embeddings, data);
let cells = 0,
  real = 0;
for (let step = 0; step < 1800; step++) {
  // configs/world-base.yaml: 1,800 steps of 32, seed 0
  const idx = batchIndices(rows.length, 32, 0, step);
  const b = makeBatch(
    idx.map((i) => rows[i]!),
    tok.specialIds.pad,
  ); // (B, T)
  cells += b.B * b.T;
  for (const i of idx) real += rows[i]!.ids.length - 1;
}
process.stdout.write(
  `${data}: padding is ${(100 * (1 - real / cells)).toFixed(1)}% of the (B, T) cells of 1,800 batches of 32\n`,
);

// A real model's tokenizer from a local HF `tokenizer.json` (no hub access), for token-accurate
// prefill lengths: @huggingface/tokenizers (pure JS; it encodes byte-level BPE files exactly as
// the Rust `tokenizers` library does, checked in DESIGN.md §8). A `tokenizer_config.json` beside
// the file is read when present (added-token settings). Encoding adds no special tokens (a prefill
// sits inside the assistant turn); decoding keeps them.
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import type { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";
import type { TextTokenizer } from "./types.ts";

function readJson(file: string, what: string): object {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new RecapError(
      `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "point policy.tokenizer to the policy's tokenizer.json or its model folder",
    );
  }
  try {
    return JSON.parse(text) as object;
  } catch (e) {
    throw new RecapError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Loads `tokenizer.json` (a file, or a folder holding one). */
export function loadHfTokenizer(fileOrDir: string): TextTokenizer {
  const isDir = fs.existsSync(fileOrDir) && fs.statSync(fileOrDir).isDirectory();
  const file = isDir ? path.join(fileOrDir, "tokenizer.json") : fileOrDir;
  const json = readJson(file, "tokenizer");
  const cfgFile = path.join(path.dirname(file), "tokenizer_config.json");
  const cfg = fs.existsSync(cfgFile) ? readJson(cfgFile, "tokenizer config") : {};
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer(json, cfg);
  } catch (e) {
    throw new RecapError(
      `${file}: not a tokenizer this library reads (${(e as Error).message})`,
      "use the model's HF tokenizer.json, or recap.unit words",
    );
  }
  return {
    source: file,
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false }),
  };
}

/** The tokenizer as src/recap/truncate.ts's truncateTokens takes it: that function reads only
 *  `encode` and `decode`, which a TextTokenizer has with the same meaning. */
export function forTruncation(t: TextTokenizer): Tokenizer {
  return { encode: (s: string) => t.encode(s), decode: (ids: number[]) => t.decode(ids) } as unknown as Tokenizer;
}

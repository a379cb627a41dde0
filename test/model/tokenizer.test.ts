// Tests for the byte-level BPE tokenizer (src/model/tokenizer.ts, byte_level.ts, bpe_train.ts):
// the byte alphabet, the Qwen2 pre-tokenizer against hand-written splits, special-token parsing,
// lossless round-trips, training (hand-worked merges and a naive full-recount reference), the HF
// tokenizer.json form and its validation errors, and a cross-check against the independent
// @huggingface/tokenizers implementation on a seeded fuzz corpus.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { BYTE_TO_CHAR, CHAR_TO_BYTE, toByteText } from "../../src/model/byte_level.ts";
import { QWEN2_PATTERN, SPECIAL_TOKENS, Tokenizer, preTokenize } from "../../src/model/tokenizer.ts";
import { trainBpe } from "../../src/model/bpe_train.ts";
import { tokenizerConfig } from "../../src/model/chat_template.ts";

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

const WORDS = [
  "the",
  "model",
  "thinks",
  "about",
  "answer",
  "reasoning",
  "safety",
  "refuse",
  "because",
  "step",
  "Hello",
  "World",
  "THE",
  "it's",
  "don't",
  "we'll",
  "I'm",
  "they've",
  "you'd",
  "she's",
  "We'RE",
  "café",
  "naïve",
];
const UNICODE = [
  "日本語",
  "中文字符",
  "😀",
  "👍🏽",
  "🇫🇷",
  "Ωμέγα",
  "Привет",
  "مرحبا",
  "ß",
  "e\u0301",
  "\u200d",
  "\u00a0",
  "\u3000",
  "\u0085",
  "\ufeff",
  "\u2028",
  "ſ",
  "²",
  "½",
  "٣",
];
const PUNCT = [
  ".",
  ",",
  "!",
  "?",
  "...",
  ";",
  ":",
  "(",
  ")",
  '"',
  "'",
  "-",
  "--",
  "/",
  "<",
  ">",
  "|",
  "{",
  "}",
  "$",
  "%",
  "#",
  "@",
  "`",
  "~",
  "\\",
];
const SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "  \n  ", "\r", "\t\t ", "\u000b", "\f"];
const SPECIAL_BITS = [
  "<|user|>",
  "<|assistant|>",
  "<|system|>",
  "<think>",
  "</think>",
  "<eos>",
  "<pad>",
  "<eos",
  "<|user",
  "</think",
  "think>",
  "<<eos>>",
  "<think></think>",
];

/** A random string from the fragments above, with numbers and random letters mixed in. */
function fuzzString(r: () => number, maxParts = 12): string {
  let s = "";
  const n = 1 + Math.floor(r() * maxParts);
  for (let i = 0; i < n; i++) {
    const k = r();
    if (k < 0.3) s += pick(r, WORDS);
    else if (k < 0.4) s += String(Math.floor(r() * 100000));
    else if (k < 0.5) s += pick(r, UNICODE);
    else if (k < 0.62) s += pick(r, PUNCT);
    else if (k < 0.82) s += pick(r, SPACES);
    else if (k < 0.9) s += pick(r, SPECIAL_BITS);
    else s += String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 5) }, () => 97 + Math.floor(r() * 26)));
  }
  return s;
}

/** A seeded training corpus: English-like sentences, numbers, <think> markup, some unicode. */
function trainingCorpus(seed: number, n: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 4 + Math.floor(r() * 10) }, () => pick(r, WORDS));
    const num = Math.floor(r() * 1000);
    const filler = pick(r, ["...", "!!!", "   ", "\n\n", "zzzz", "aaaaa", "  --  ", "\t\t"]);
    out.push(
      `<|user|>${words.join(" ")}? ${num}<|assistant|><think>${pick(r, WORDS)}${filler}${pick(r, UNICODE)}.\n</think>${words.slice(2).join(" ")}!<eos>`,
    );
  }
  return out;
}

const base = Tokenizer.fromMerges([]);
const trained = trainBpe(trainingCorpus(1, 400), 420);
const B = (b: number) => 7 + b; // byte token id in a tokenizer built here

describe("byte alphabet", () => {
  it("is GPT-2's bytes-to-unicode map", () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    for (let b = 0x21; b <= 0x7e; b++) assert.equal(BYTE_TO_CHAR[b], String.fromCharCode(b));
    assert.equal(BYTE_TO_CHAR[0x00], "Ā");
    assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
    assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
    assert.equal(BYTE_TO_CHAR[0x7f], "ġ");
    assert.equal(BYTE_TO_CHAR[0xad], "Ń");
    assert.equal(BYTE_TO_CHAR[0xe9], "é");
    assert.equal(CHAR_TO_BYTE.get("Ġ"), 0x20);
    assert.equal(toByteText(" é\n"), "ĠÃ©Ċ");
  });
});

describe("Qwen2 pre-tokenizer", () => {
  it("keeps the HF pattern text exactly", () => {
    assert.equal(
      QWEN2_PATTERN,
      String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    );
  });
  const cases: [string, string[]][] = [
    ["Hello world", ["Hello", " world"]],
    ["abc12345", ["abc", "1", "2", "3", "4", "5"]],
    [" 42", [" ", "4", "2"]],
    ["I'm DON'T we'Ll it's", ["I", "'m", " DON", "'T", " we", "'Ll", " it", "'s"]],
    ["'sup", ["'s", "up"]],
    ["'Sup 'LLama 'VEry 'tday", ["'S", "up", " '", "LLama", " '", "VEry", " '", "tday"]],
    ["IT'S x'Dz", ["IT", "'S", " x", "'D", "z"]],
    ["x'ſup", ["x", "'ſup"]], // ASCII-only case folding, as llama.cpp and tokenizers.js do
    ["  hello", [" ", " hello"]],
    ["a    b", ["a", "   ", " b"]],
    ["a\n\nb", ["a", "\n\n", "b"]],
    ["x  \n  y", ["x", "  \n", " ", " y"]],
    ["end.\r\n", ["end", ".\r\n"]],
    ["hi!! ok", ["hi", "!!", " ok"]],
    ["\tword", ["\tword"]],
    ["(x)", ["(x", ")"]],
    [" 日本語 😀!", [" 日本語", " 😀!"]],
    ["trailing   ", ["trailing", "   "]],
    ["a\u00a0b", ["a", "\u00a0b"]],
    ["<think>", ["<think", ">"]],
  ];
  for (const [text, want] of cases)
    it(`splits ${JSON.stringify(text)}`, () => assert.deepEqual(preTokenize(text), want));
  it("covers every character of random text", () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const s = fuzzString(r);
      assert.equal(preTokenize(s).join(""), s);
    }
  });
});

describe("encode / decode", () => {
  it("numbers special tokens 0..6, then the 256 bytes", () => {
    assert.equal(base.vocabSize, 263);
    assert.deepEqual(base.specialIds, { pad: 0, eos: 1, system: 2, user: 3, assistant: 4, think: 5, endThink: 6 });
    SPECIAL_TOKENS.forEach((s, i) => assert.equal(base.idToToken(i), s.content));
    assert.equal(base.idToToken(7), "Ā");
    assert.equal(base.tokenToId("Ġ"), B(0x20));
    assert.equal(base.tokenToId("<eos>"), 1);
    assert.equal(base.tokenToId("nope"), undefined);
    assert.throws(() => base.idToToken(263), /outside the vocabulary/);
  });
  it("encodes the acceptance string with role, think and eos tokens", () => {
    const s = "<|user|>hi<|assistant|><think>ok</think>fine<eos>";
    const ch = (t: string) => [...Buffer.from(t)].map(B);
    assert.deepEqual(base.encode(s), [3, ...ch("hi"), 4, 5, ...ch("ok"), 6, ...ch("fine"), 1]);
    const ids = trained.encode(s);
    assert.equal(ids[0], 3);
    for (const id of [4, 5, 6, 1]) assert.ok(ids.includes(id), `id ${id} in ${ids}`);
    assert.equal(ids.at(-1), 1);
    assert.ok(ids.length < base.encode(s).length, "merges shorten the encoding");
    assert.equal(trained.decode(ids), s);
  });
  it("treats special text as plain text with parseSpecial: false", () => {
    const s = "a<eos><|user|>b";
    const ids = trained.encode(s, { parseSpecial: false });
    assert.ok(
      ids.every((id) => !trained.isSpecial(id)),
      String(ids),
    );
    assert.equal(trained.decode(ids), s);
    assert.deepEqual(
      trained.encode(s).filter((id) => trained.isSpecial(id)),
      [1, 3],
    );
  });
  it("takes the longest special match", () => {
    const json = trained.toJSON();
    const id = trained.vocabSize;
    json.added_tokens.push({
      id,
      content: "<think>!",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    const t = Tokenizer.fromJSON(json);
    assert.deepEqual(t.encode("<think>!<think>?"), [id, 5, ...trained.encode("?")]);
    assert.equal(t.tokenTypes()[id], "control");
  });
  it("merges leftmost first among equal ranks", () => {
    const t = Tokenizer.fromMerges([
      ["a", "a"],
      ["aa", "a"],
    ]);
    assert.deepEqual(t.encode("aaa"), [264]);
    assert.deepEqual(t.encode("aaaaa"), [263, 264]);
    const u = Tokenizer.fromMerges([["a", "a"]]);
    assert.deepEqual(u.encode("aaaaa"), [263, 263, B(0x61)]);
    const v = Tokenizer.fromMerges([
      ["b", "c"],
      ["a", "b"],
      ["ab", "c"],
    ]);
    assert.deepEqual(v.encode("abc"), [B(0x61), 263], "rank beats position");
  });
  it("decodes with and without special tokens", () => {
    const ids = trained.encode("<|user|>hi<|assistant|><think>ok</think>fine<eos>");
    assert.equal(trained.decode(ids, { skipSpecial: true }), "hiokfine");
    assert.equal(trained.decode([]), "");
  });
  it("decodes invalid UTF-8 to U+FFFD and joins bytes across tokens", () => {
    assert.equal(base.decode([B(0xff)]), "\ufffd");
    assert.equal(base.decode([B(0xe6), B(0x97)]), "\ufffd");
    assert.equal(base.decode([B(0xc3), B(0xa9)]), "é");
    assert.equal(base.decode([B(0xc3), 1, B(0xa9)]), "\ufffd<eos>\ufffd");
    assert.equal(base.decode([B(0xc3), 1, B(0xa9)], { skipSpecial: true }), "é");
    assert.throws(() => base.decode([999]), /outside the vocabulary/);
  });
  it("round-trips any string, including emoji, CJK, control chars and a leading BOM", () => {
    const r = rng(11);
    const fixed = [
      "",
      "\ufeffBOM first",
      "\r\n\r\n",
      "\u0000\u0001\u001f\u007f",
      "😀👍🏽🇫🇷",
      "日本語のテキスト",
      "<eos",
      "a\u0085b\u2028c",
    ];
    const strings = [...fixed, ...Array.from({ length: 300 }, () => fuzzString(r, 20))];
    for (const s of strings) {
      assert.equal(trained.decode(trained.encode(s)), s);
      assert.equal(trained.decode(trained.encode(s, { parseSpecial: false })), s);
      assert.equal(base.decode(base.encode(s)), s);
    }
  });
  it("gives llama.cpp token types", () => {
    const types = trained.tokenTypes();
    assert.equal(types.length, trained.vocabSize);
    assert.deepEqual(types.slice(0, 8), [
      "control",
      "control",
      "control",
      "control",
      "control",
      "user_defined",
      "user_defined",
      "normal",
    ]);
    assert.ok(types.slice(7).every((t) => t === "normal"));
  });
});

/** The textbook trainer: recounts every pair from scratch before each merge. */
function naiveTrain(texts: string[], vocabSize: number): [string, string][] {
  const freq = new Map<string, number>();
  for (const t of texts)
    for (const piece of t.split(/(<\|system\|>|<\|user\|>|<\|assistant\|>|<think>|<\/think>|<eos>|<pad>)/))
      if (!SPECIAL_TOKENS.some((s) => s.content === piece))
        for (const p of preTokenize(piece)) freq.set(toByteText(p), (freq.get(toByteText(p)) ?? 0) + 1);
  const words = [...freq].map(([w, n]) => ({ syms: [...w], n }));
  const vocab = new Set(BYTE_TO_CHAR);
  const merges: [string, string][] = [];
  while (vocab.size + 7 < vocabSize) {
    const counts = new Map<string, { a: string; b: string; n: number }>();
    for (const w of words)
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const k = JSON.stringify([w.syms[i], w.syms[i + 1]]);
        const c = counts.get(k) ?? { a: w.syms[i]!, b: w.syms[i + 1]!, n: 0 };
        c.n += w.n;
        counts.set(k, c);
      }
    let best: { a: string; b: string; n: number } | null = null;
    for (const c of counts.values())
      if (!best || c.n > best.n || (c.n === best.n && (c.a < best.a || (c.a === best.a && c.b < best.b)))) best = c;
    if (!best || best.n < 2) break;
    merges.push([best.a, best.b]);
    vocab.add(best.a + best.b);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++)
        if (w.syms[i] === best.a && w.syms[i + 1] === best.b && i + 1 < w.syms.length) out.push(best.a + best.b), i++;
        else out.push(w.syms[i]!);
      w.syms = out;
    }
  }
  return merges;
}

describe("trainBpe", () => {
  it("merges the most frequent pair, breaking ties by text", () => {
    const t = trainBpe(["hello", "hello", "hello", "help"], 300);
    assert.deepEqual(t.merges, [
      ["e", "l"],
      ["h", "el"],
      ["hel", "l"],
      ["hell", "o"],
    ]);
    assert.equal(t.vocabSize, 263 + 4, "stops when no pair occurs twice");
    assert.deepEqual(t.encode("hello"), [266]);
    assert.deepEqual(t.encode("help"), [264, B(0x70)]);
  });
  it("breaks count ties the same way whatever the text order", () => {
    assert.deepEqual(trainBpe(["cd", "ab", "cd", "ab"], 264).merges, [["a", "b"]]);
    assert.deepEqual(trainBpe(["ab", "cd", "ab", "cd"], 265).merges, [
      ["a", "b"],
      ["c", "d"],
    ]);
  });
  it("matches a naive full-recount trainer", () => {
    const texts = trainingCorpus(3, 150);
    const r = rng(5);
    for (let i = 0; i < 100; i++) texts.push(fuzzString(r, 30));
    const fast = trainBpe(texts, 500);
    assert.deepEqual(fast.merges, naiveTrain(texts, 500));
    assert.ok(fast.merges.length > 150, `${fast.merges.length} merges`);
  });
  it("is deterministic and never learns special-token text", () => {
    assert.deepEqual(trainBpe(trainingCorpus(1, 400), 420).merges, trained.merges);
    assert.equal(trained.vocabSize, 420);
    assert.equal(trainBpe(Array(20).fill("<think></think><eos>"), 300).vocabSize, 263);
    assert.ok(trainBpe(Array(20).fill("<think></think><eos>"), 300, { parseSpecial: false }).vocabSize > 263);
  });
  it("honours minFrequency and rejects a vocabulary below 263", () => {
    assert.equal(trainBpe(["ab", "ab"], 300, { minFrequency: 3 }).vocabSize, 263);
    assert.throws(() => trainBpe(["ab"], 100), /vocabSize must be an integer in 263\.\./);
  });
  it("trains a 2 MB corpus to 512 tokens in a few seconds", () => {
    const r = rng(9);
    const syll = ["ka", "to", "ri", "men", "sa", "lo", "qu", "ix", "ber", "nd", "th", "ea", "str", "ph", "oo"];
    const texts: string[] = [];
    let size = 0;
    while (size < 2_000_000) {
      let s = "";
      for (let i = 0; i < 30; i++) {
        s += Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(r, syll)).join("");
        s += r() < 0.1 ? `, ${Math.floor(r() * 1000)} ` : r() < 0.05 ? ".\n" : " ";
      }
      texts.push(s);
      size += s.length;
    }
    const t0 = performance.now();
    const t = trainBpe(texts, 512);
    const ms = performance.now() - t0;
    assert.equal(t.vocabSize, 512);
    assert.ok(ms < 8000, `took ${ms.toFixed(0)} ms`);
  });
});

describe("tokenizer.json", () => {
  it("writes the HF tokenizers format", () => {
    const j = JSON.parse(JSON.stringify(trained));
    assert.equal(j.version, "1.0");
    assert.equal(j.truncation, null);
    assert.equal(j.padding, null);
    assert.equal(j.normalizer, null);
    assert.equal(j.post_processor, null);
    assert.deepEqual(j.added_tokens[5], {
      id: 5,
      content: "<think>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
    assert.deepEqual(
      j.added_tokens.map((t: { content: string }) => t.content),
      SPECIAL_TOKENS.map((s) => s.content),
    );
    assert.deepEqual(j.pre_tokenizer, {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    });
    assert.deepEqual(j.decoder, { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false });
    const { vocab, merges, ...rest } = j.model;
    assert.deepEqual(rest, {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
    });
    assert.equal(Object.keys(vocab).length, trained.vocabSize);
    assert.equal(vocab["Ġ"], B(0x20));
    assert.deepEqual(merges, trained.merges);
    assert.ok(Array.isArray(merges[0]) && merges[0].length === 2);
  });
  it("round-trips through JSON with identical encodings", () => {
    const back = Tokenizer.fromJSON(JSON.parse(JSON.stringify(trained.toJSON())));
    assert.equal(back.vocabSize, trained.vocabSize);
    assert.deepEqual(back.merges, trained.merges);
    assert.deepEqual(back.tokenTypes(), trained.tokenTypes());
    const r = rng(13);
    for (let i = 0; i < 200; i++) {
      const s = fuzzString(r);
      assert.deepEqual(back.encode(s), trained.encode(s));
    }
  });
  it("loads the older 'a b' merge strings", () => {
    const j = trained.toJSON() as unknown as { model: { merges: unknown[] } };
    j.model.merges = trained.merges.map(([a, b]) => `${a} ${b}`);
    const t = Tokenizer.fromJSON(j);
    assert.deepEqual(t.merges, trained.merges);
    assert.deepEqual(t.encode("the model thinks 123"), trained.encode("the model thinks 123"));
  });

  type Json = ReturnType<Tokenizer["toJSON"]>;
  const lastMerged = () => trained.idToToken(trained.vocabSize - 1);
  const bad: [string, (j: Json) => unknown, RegExp][] = [
    ["not an object", () => null, /expected an object, got null/],
    ["an array", () => [], /expected an object, got an array/],
    ["missing model", (j) => ({ ...j, model: undefined }), /missing model \(got undefined\)/],
    ["missing model.vocab", (j) => ({ ...j, model: { ...j.model, vocab: undefined } }), /missing model\.vocab/],
    ["missing merges", (j) => ({ ...j, model: { ...j.model, merges: "x" } }), /missing model\.merges/],
    ["not BPE", (j) => ({ ...j, model: { ...j.model, type: "WordPiece" } }), /model\.type must be "BPE"/],
    [
      "unknown merge token",
      (j) => (j.model.merges.push(["zz_unknown", "a"]), j),
      /merge \d+ \("zz_unknown", "a"\) refers to unknown token "zz_unknown"/,
    ],
    [
      "merge result missing",
      (j) => (delete j.model.vocab[lastMerged()], j),
      /the merged token .* is not in the vocabulary/,
    ],
    [
      "malformed merge",
      (j) => (j.model.merges.unshift(7 as unknown as [string, string]), j),
      /model\.merges\[0\] must be a pair/,
    ],
    ["duplicate merge", (j) => (j.model.merges.push(j.model.merges[0]!), j), /is a duplicate of merge 0/],
    ["duplicate ids", (j) => ((j.model.vocab["ĀĀĀ"] = 10), j), /duplicate id 10: /],
    ["gap in ids", (j) => ((j.model.vocab["ĀĀĀ"] = 1000), j), /id 420 is missing/],
    [
      "special token missing",
      (j) => ((j.added_tokens = j.added_tokens.filter((t) => t.content !== "<think>")), j),
      /special token <think> is missing from added_tokens/,
    ],
    [
      "added id disagrees with vocab",
      (j) => ((j.added_tokens[1]!.id = 2), j),
      /added token <eos> has id 2 but model\.vocab says 1/,
    ],
    [
      "byte token missing",
      (j) => (delete j.model.vocab["Ā"], (j.model.vocab["ĀĀ"] = 7), j),
      /byte token "Ā" \(byte 0x00\) is missing/,
    ],
    [
      "token outside the alphabet",
      (j) => ((j.model.vocab["一"] = 420), j),
      /token 420: character U\+4e00 .* is not in the byte alphabet/,
    ],
    ["negative id", (j) => ((j.model.vocab["ĀĀĀ"] = -1), j), /"ĀĀĀ" has id -1, not an integer >= 0/],
    [
      "other pre-tokenizer",
      (j) => ((j.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\s+"), j),
      /pre_tokenizer must be the Qwen2 Split/,
    ],
    ["a normalizer", (j) => ({ ...j, normalizer: { type: "NFC" } }), /normalizer must be null/],
    ["bad added token", (j) => ({ ...j, added_tokens: [{ id: "x" }] }), /added_tokens\[0\] needs an integer id/],
  ];
  for (const [name, mutate, want] of bad)
    it(`rejects ${name} with a one-line error`, () => {
      const j = structuredClone(trained.toJSON());
      assert.throws(
        () => Tokenizer.fromJSON(mutate(j)),
        (e: Error) => {
          assert.match(e.message, /^invalid tokenizer\.json: /);
          assert.match(e.message, want);
          assert.ok(!e.message.includes("\n"), e.message);
          return true;
        },
      );
    });
});

describe("cross-check with @huggingface/tokenizers 0.2.0", () => {
  const hf = new HfTokenizer(JSON.parse(JSON.stringify(trained)), tokenizerConfig(trained));
  it("sees the same vocabulary and special tokens", () => {
    for (let id = 0; id < trained.vocabSize; id++) assert.equal(hf.id_to_token(id), trained.idToToken(id));
    const added = hf.get_added_tokens_decoder();
    assert.deepEqual([...added.keys()], [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(added.get(6)?.content, "</think>");
  });
  it("encodes a fuzz corpus identically", () => {
    const r = rng(2024);
    const strings = [
      "<|user|>hi<|assistant|><think>ok</think>fine<eos>",
      "don't 'LL 'S 'sup x'Sup we'LLama",
      "'ſ",
      "x'ſup",
      "aaaaa",
      "zzzzzzz",
      "!!!!!",
      "........",
      "     word",
      "\n\n\n\n",
      "0000",
      "  \n\n  x",
      "a\u0085b\ufeffc\u00a0d",
      ...Array.from({ length: 400 }, () => fuzzString(r, 16)),
    ];
    let tokens = 0,
      merged = 0;
    for (const s of strings) {
      const ours = trained.encode(s);
      assert.deepEqual(hf.encode(s).ids, ours, JSON.stringify(s));
      tokens += ours.length;
      merged += ours.filter((id) => id >= 263).length;
    }
    assert.ok(merged > tokens / 5, `the corpus exercises merges (${merged} of ${tokens} tokens)`);
  });
  it("decodes random id sequences identically", () => {
    const r = rng(99);
    for (let i = 0; i < 300; i++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 12) }, () => Math.floor(r() * trained.vocabSize));
      const opts = { clean_up_tokenization_spaces: false };
      assert.equal(hf.decode(ids, opts), trained.decode(ids), String(ids));
      assert.equal(
        hf.decode(ids, { ...opts, skip_special_tokens: true }),
        trained.decode(ids, { skipSpecial: true }),
        String(ids),
      );
    }
  });
});

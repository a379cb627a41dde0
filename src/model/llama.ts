// The Llama model's parameters: named flat Float32Arrays (HF names), per-layer views, seeded
// initialisation, gradient buffers, and the RoPE tables shared by training and inference.
import type { Kernels } from "../engine/kernels.ts";
import { ropeTables } from "../engine/ref.ts";
import { Rng } from "../engine/rng.ts";
import { type LlamaConfig, headDim, numel, paramSpecs } from "./config.ts";

/** The weights of one transformer block (views into the model's named params). */
export interface LayerWeights {
  inputNorm: Float32Array; // (C)
  wq: Float32Array; // (Hq*D, C)
  wk: Float32Array; // (Hkv*D, C)
  wv: Float32Array; // (Hkv*D, C)
  wo: Float32Array; // (C, Hq*D)
  postNorm: Float32Array; // (C)
  wGate: Float32Array; // (F, C)
  wUp: Float32Array; // (F, C)
  wDown: Float32Array; // (C, F)
}

export interface ModelWeights {
  embed: Float32Array; // (V, C)
  layers: LayerWeights[];
  finalNorm: Float32Array; // (C)
  lmHead: Float32Array; // (V, C); the embed array itself when tied
}

/** Named arrays → structured views. Works for params and for gradients alike. */
export function structure(config: LlamaConfig, named: Map<string, Float32Array>): ModelWeights {
  const get = (name: string): Float32Array => {
    const a = named.get(name);
    if (!a) throw new Error(`missing tensor ${name}`);
    return a;
  };
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      inputNorm: get(`${p}.input_layernorm.weight`),
      wq: get(`${p}.self_attn.q_proj.weight`),
      wk: get(`${p}.self_attn.k_proj.weight`),
      wv: get(`${p}.self_attn.v_proj.weight`),
      wo: get(`${p}.self_attn.o_proj.weight`),
      postNorm: get(`${p}.post_attention_layernorm.weight`),
      wGate: get(`${p}.mlp.gate_proj.weight`),
      wUp: get(`${p}.mlp.up_proj.weight`),
      wDown: get(`${p}.mlp.down_proj.weight`),
    });
  }
  const embed = get("model.embed_tokens.weight");
  return {
    embed,
    layers,
    finalNorm: get("model.norm.weight"),
    lmHead: config.tie_word_embeddings ? embed : get("lm_head.weight"),
  };
}

/** HF Llama initialisation: linear and embedding weights ~ N(0, initializer_range), norms = 1. */
export function initParams(config: LlamaConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const std = config.initializer_range;
  const params = new Map<string, Float32Array>();
  for (const spec of paramSpecs(config)) {
    const a = new Float32Array(numel(spec.shape));
    if (spec.shape.length === 1) a.fill(1);
    else for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
    params.set(spec.name, a);
  }
  return params;
}

/** Zeroed arrays with the same names and sizes as `params`, from `alloc`. */
export function zerosLike(
  params: Map<string, Float32Array>,
  alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, a] of params) out.set(name, alloc(a.length));
  return out;
}

/** Copies of `arrays` in memory the kernels work on without copying. */
export function copyInto(kernels: Kernels, arrays: Map<string, Float32Array>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, a] of arrays) {
    const b = kernels.alloc(a.length);
    b.set(a);
    out.set(name, b);
  }
  return out;
}

/** A model: config, kernels, named params and their structured views, RoPE tables.
 *  Params, gradients and tables are copied into / allocated from the kernels' memory once, at
 *  construction (outside any allocation scope), so they live as long as the model. */
export class Llama {
  readonly config: LlamaConfig;
  readonly kernels: Kernels;
  readonly params: Map<string, Float32Array>;
  readonly w: ModelWeights;
  readonly ropeCos: Float32Array; // (P, D/2)
  readonly ropeSin: Float32Array; // (P, D/2)
  /** Gradient buffers, keyed like params; backward accumulates into them. */
  readonly grads: Map<string, Float32Array>;
  readonly g: ModelWeights;
  /** Where the weights came from ("checkpoint DIR"), named when a forward pass is not finite. */
  source: string | undefined;

  constructor(config: LlamaConfig, params: Map<string, Float32Array>, kernels: Kernels) {
    this.config = config;
    this.kernels = kernels;
    this.params = copyInto(kernels, params);
    this.w = structure(config, this.params);
    this.grads = zerosLike(this.params, (n) => kernels.alloc(n));
    this.g = structure(config, this.grads);
    const t = ropeTables(config.max_position_embeddings, headDim(config), config.rope_theta);
    this.ropeCos = copyInto(kernels, new Map([["cos", t.cos]])).get("cos")!;
    this.ropeSin = copyInto(kernels, new Map([["sin", t.sin]])).get("sin")!;
  }

  zeroGrads(): void {
    for (const a of this.grads.values()) a.fill(0);
  }

  numParams(): number {
    let n = 0;
    for (const a of this.params.values()) n += a.length;
    return n;
  }
}

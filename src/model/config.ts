// LlamaConfig: the model's hyper-parameters under Hugging Face's field names, so that config.json
// round-trips with transformers' LlamaConfig, plus the named presets and the parameter layout.
import { z } from "zod";
import { RecapError } from "../util/errors.ts";
import { zodIssues } from "../util/zod_issues.ts";

/** Upper bounds of the size fields. This toolkit runs its models on the CPU in Float32Arrays and
 *  allocates RoPE tables and caches for every position, so a config beyond these (10^8 positions
 *  made `recap logprobs` allocate 8.9 GB) is refused with the limit instead of hanging or failing
 *  inside a typed array. */
export const LIMITS = {
  vocab_size: 1 << 20,
  hidden_size: 1 << 16,
  intermediate_size: 1 << 18,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  max_position_embeddings: 1 << 17,
  /** Elements of the largest weight matrix (1 GiB of float32). */
  tensor_elements: 1 << 28,
} as const;

function limitMessage(field: string, limit: number): string {
  return `must be at most ${limit} (this toolkit's limit: a CPU model's tables and caches are allocated in full); lower ${field}`;
}

export const LlamaConfigSchema = z
  .object({
    architectures: z.array(z.literal("LlamaForCausalLM")).default(["LlamaForCausalLM"]),
    model_type: z.literal("llama").default("llama"),
    /** Tokens in the vocabulary (rows of embed_tokens / lm_head). tiny: 512. */
    vocab_size: z.number().int().positive().max(LIMITS.vocab_size, limitMessage("vocab_size", LIMITS.vocab_size)),
    /** Width of the residual stream C. tiny: 128. */
    hidden_size: z.number().int().positive().max(LIMITS.hidden_size, limitMessage("hidden_size", LIMITS.hidden_size)),
    /** Width of the SwiGLU hidden layer F. tiny: 384. */
    intermediate_size: z
      .number()
      .int()
      .positive()
      .max(LIMITS.intermediate_size, limitMessage("intermediate_size", LIMITS.intermediate_size)),
    /** Transformer blocks L. tiny: 4. */
    num_hidden_layers: z
      .number()
      .int()
      .positive()
      .max(LIMITS.num_hidden_layers, limitMessage("num_hidden_layers", LIMITS.num_hidden_layers)),
    /** Query heads Hq; head_dim D = hidden_size / num_attention_heads. tiny: 4. */
    num_attention_heads: z
      .number()
      .int()
      .positive()
      .max(LIMITS.num_attention_heads, limitMessage("num_attention_heads", LIMITS.num_attention_heads)),
    /** Key/value heads Hkv (grouped-query attention; Hq must be a multiple). tiny: 2. */
    num_key_value_heads: z
      .number()
      .int()
      .positive()
      .max(LIMITS.num_attention_heads, limitMessage("num_key_value_heads", LIMITS.num_attention_heads)),
    /** RoPE base frequency (HF rotate_half convention). Default 10000. */
    rope_theta: z.number().positive().max(1e12).default(10000),
    /** Epsilon inside RMSNorm's square root. Default 1e-5. */
    rms_norm_eps: z.number().positive().max(1).default(1e-5),
    /** Longest sequence (positions) the model is used with. tiny: 256. */
    max_position_embeddings: z
      .number()
      .int()
      .positive()
      .max(LIMITS.max_position_embeddings, limitMessage("max_position_embeddings", LIMITS.max_position_embeddings)),
    /** Share embed_tokens with lm_head (no lm_head.weight tensor). Default false. */
    tie_word_embeddings: z.boolean().default(false),
    /** Activation in the MLP; only SwiGLU's "silu" is implemented. */
    hidden_act: z.literal("silu").default("silu"),
    /** Std of the normal initialisation of linear and embedding weights. Default 0.02. */
    initializer_range: z.number().positive().max(10).default(0.02),
    /** Token ids the tokenizer defines; written for HF tools, not used by the math. */
    bos_token_id: z.number().int().nonnegative().optional(),
    eos_token_id: z.number().int().nonnegative().optional(),
    pad_token_id: z.number().int().nonnegative().optional(),
    torch_dtype: z.string().default("float32"),
    attention_bias: z.literal(false).default(false),
    mlp_bias: z.literal(false).default(false),
  })
  .passthrough()
  .superRefine((c, ctx) => {
    if (c.hidden_size % c.num_attention_heads !== 0)
      ctx.addIssue({
        code: "custom",
        message: `hidden_size ${c.hidden_size} must be divisible by num_attention_heads ${c.num_attention_heads}: pick a head count that divides it`,
      });
    if (c.num_attention_heads % c.num_key_value_heads !== 0)
      ctx.addIssue({
        code: "custom",
        message: `num_attention_heads ${c.num_attention_heads} must be a multiple of num_key_value_heads ${c.num_key_value_heads} (grouped-query attention)`,
      });
    const largest = Math.max(
      c.vocab_size * c.hidden_size,
      c.hidden_size * c.intermediate_size,
      c.hidden_size * c.hidden_size,
    );
    if (largest > LIMITS.tensor_elements)
      ctx.addIssue({
        code: "custom",
        message: `the largest weight matrix would have ${largest} elements, more than this toolkit's limit of ${LIMITS.tensor_elements}: lower vocab_size, hidden_size or intermediate_size`,
      });
    if ((c.hidden_size / c.num_attention_heads) % 2 !== 0)
      ctx.addIssue({
        code: "custom",
        message: `head_dim ${c.hidden_size / c.num_attention_heads} must be even for RoPE`,
      });
  });

export type LlamaConfig = z.infer<typeof LlamaConfigSchema>;

const PRESETS = {
  /** The demo's model: about 1M parameters. */
  tiny: {
    vocab_size: 512,
    hidden_size: 128,
    intermediate_size: 384,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 256,
  },
  /** A very small model for fast tests and golden files. */
  micro: {
    vocab_size: 300,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
  },
} as const;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A validated config from a preset name, with field overrides. */
export function presetConfig(name: string, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  const p = (PRESETS as Record<string, object>)[name];
  if (!p) throw new RecapError(`unknown preset "${name}"`, `valid presets are ${PRESET_NAMES.join(", ")}`);
  return parseConfig({ ...p, ...overrides });
}

/** What is wrong with a preset under `overrides` (field path and message each; empty when valid),
 *  for config files that carry overrides (sft `init.overrides`) to report at the right field. */
export function presetOverrideIssues(
  name: string,
  overrides: Record<string, unknown>,
): { path: string[]; message: string }[] {
  const p = (PRESETS as Record<string, object>)[name];
  if (!p) return [];
  const r = LlamaConfigSchema.safeParse({ ...p, ...overrides });
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
}

/** Validates a config object (e.g. a parsed config.json); throws one readable line on failure. */
export function parseConfig(raw: unknown, where = "config"): LlamaConfig {
  const r = LlamaConfigSchema.safeParse(raw);
  if (!r.success) {
    const msg = zodIssues(r.error);
    throw new RecapError(
      `invalid ${where}: ${msg}`,
      "fix the named fields (HF LlamaConfig names; see src/model/config.ts)",
    );
  }
  return r.data;
}

export function headDim(c: LlamaConfig): number {
  return c.hidden_size / c.num_attention_heads;
}

/** One named parameter tensor in HF order. */
export interface ParamSpec {
  name: string;
  shape: number[];
}

/** Every parameter of the model, with HF Llama tensor names and shapes (row-major, out x in). */
export function paramSpecs(c: LlamaConfig): ParamSpec[] {
  const C = c.hidden_size,
    F = c.intermediate_size,
    V = c.vocab_size;
  const D = headDim(c),
    kvC = c.num_key_value_heads * D;
  const specs: ParamSpec[] = [{ name: "model.embed_tokens.weight", shape: [V, C] }];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [C] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [C, C] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kvC, C] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kvC, C] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [C, C] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [C] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [F, C] },
      { name: `${p}.mlp.up_proj.weight`, shape: [F, C] },
      { name: `${p}.mlp.down_proj.weight`, shape: [C, F] },
    );
  }
  specs.push({ name: "model.norm.weight", shape: [C] });
  if (!c.tie_word_embeddings) specs.push({ name: "lm_head.weight", shape: [V, C] });
  return specs;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Names of the tensors that take weight decay: the matrices (not the 1-D norm weights). */
export function decayedParamNames(c: LlamaConfig): Set<string> {
  return new Set(
    paramSpecs(c)
      .filter((s) => s.shape.length >= 2)
      .map((s) => s.name),
  );
}

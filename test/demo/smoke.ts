// The smoke budget shared by the demo and study end-to-end tests: a base trained for 2 steps, one
// RL step of 2 prompt groups x 2 rollouts, 2 items per suite. Its numbers mean nothing; it makes
// every stage run in seconds.
export const SMOKE_DEMO = {
  base: "train", base_train_steps: 2, sft_baseline_steps: 1, kernels: "wasm",
  rl: { steps: 1, prompts_per_step: 2, group_size: 2, max_new_tokens: 40 },
  eval: { limit: 2, max_new_tokens: 24, batch: 16 },
};

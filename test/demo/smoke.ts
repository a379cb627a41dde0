// The smoke budget shared by the demo and study end-to-end tests: a base trained for 2 steps, one
// RL step of 2 prompt groups x 2 rollouts, 2 items per suite. Its numbers mean nothing; it makes
// every stage run in seconds.
export const SMOKE_DEMO = {
  base: "train",
  base_train_steps: 2,
  sft_baseline_steps: 1,
  kernels: "wasm",
  rl: { steps: 1, prompts_per_step: 2, group_size: 2, max_new_tokens: 40 },
  // 16 new tokens: an IPR k = 3 trajectory of a smoke model that never stops (prompt, 60-word
  // prefill, 4 generations, 3 resets) then still fits the 256-token context.
  eval: { limit: 2, max_new_tokens: 16, batch: 16 },
};

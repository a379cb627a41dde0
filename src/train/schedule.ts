// The learning-rate schedule of every trainer: linear warm-up over `warmup_steps`, then cosine
// decay from `lr` to `min_lr_ratio * lr` at the last step. `recap sft` decays (its configs set the
// ratio); RL keeps the rate constant after warm-up, as DAPO does (the paper's runs use a constant
// 1e-6): ratio 1, where the cosine term is exactly zero and the rate exactly `lr`.

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from lr / warmup_steps to lr (0: none). */
  warmup_steps: number;
  /** Final rate as a share of `lr` (1: constant after warm-up). */
  min_lr_ratio: number;
  /** Total optimiser steps (the cosine reaches its floor at the last). */
  steps: number;
}

/** Learning rate at 0-based step s. */
export function lrAt(c: LrSchedule, s: number): number {
  if (c.warmup_steps > 0 && s < c.warmup_steps) return (c.lr * (s + 1)) / c.warmup_steps;
  const span = Math.max(1, c.steps - c.warmup_steps);
  const progress = Math.min(1, (s - c.warmup_steps) / span);
  const minLr = c.lr * c.min_lr_ratio;
  return minLr + 0.5 * (c.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

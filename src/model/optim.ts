// AdamW with decoupled weight decay (as torch.optim.AdamW) and global gradient-norm clipping
// (as torch.nn.utils.clip_grad_norm_). Weight decay applies to matrices only; norm weights
// (1-D tensors) are not decayed — the usual practice for transformers (nanoGPT, HF Trainer).
import type { Kernels } from "../engine/kernels.ts";
import { zerosLike } from "./llama.ts";
import { RecapError } from "../util/errors.ts";

export interface AdamWOptions {
  /** Learning rate. */
  lr: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.95 (common for LMs; torch's default is 0.999). */
  beta2?: number;
  /** Denominator epsilon. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay on matrices. Default 0.0. */
  weightDecay?: number;
  /** Clip the global L2 norm of all gradients to this value (0 = off). Default 1.0. */
  maxGradNorm?: number;
}

export interface StepStats {
  gradNorm: number; // global L2 norm before clipping
  clipScale: number; // factor applied to the gradients (1 = not clipped)
}

export class AdamW {
  readonly m: Map<string, Float32Array>;
  readonly v: Map<string, Float32Array>;
  step = 0;
  private readonly kernels: Kernels;
  private readonly decayed: ReadonlySet<string>;

  /** `decayed`: names of the tensors that get weight decay (the matrices). */
  constructor(params: Map<string, Float32Array>, kernels: Kernels, decayed: ReadonlySet<string>) {
    this.m = zerosLike(params, (n) => kernels.alloc(n));
    this.v = zerosLike(params, (n) => kernels.alloc(n));
    this.kernels = kernels;
    this.decayed = decayed;
  }

  /** Restores moments and step (from a checkpoint sidecar); sizes must match. */
  load(m: Map<string, Float32Array>, v: Map<string, Float32Array>, step: number): void {
    for (const [name, a] of this.m) {
      const mm = m.get(name),
        vv = v.get(name);
      if (!mm || !vv || mm.length !== a.length || vv.length !== a.length)
        throw new RecapError(
          `optimizer state does not match the model at tensor ${name}`,
          "resume with the checkpoint the run was started from, or start a new --out",
        );
    }
    for (const [name, a] of this.m) a.set(m.get(name)!);
    for (const [name, a] of this.v) a.set(v.get(name)!);
    this.step = step;
  }

  /** One update of every param from its gradient. */
  update(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, o: AdamWOptions): StepStats {
    const gradNorm = globalNorm(grads);
    if (!Number.isFinite(gradNorm))
      throw new RecapError(`gradient norm is ${gradNorm}: the loss diverged`, "lower the learning rate");
    const maxNorm = o.maxGradNorm ?? 1.0;
    const clipScale = maxNorm > 0 && gradNorm > maxNorm ? maxNorm / (gradNorm + 1e-6) : 1;
    this.step++;
    for (const [name, p] of params) {
      const g = grads.get(name)!;
      this.kernels.adamw(p, g, this.m.get(name)!, this.v.get(name)!, p.length, {
        lr: o.lr,
        beta1: o.beta1 ?? 0.9,
        beta2: o.beta2 ?? 0.95,
        eps: o.eps ?? 1e-8,
        weightDecay: this.decayed.has(name) ? (o.weightDecay ?? 0) : 0,
        step: this.step,
        gradScale: clipScale,
      });
    }
    return { gradNorm, clipScale };
  }
}

/** L2 norm over every gradient tensor, accumulated in float64. */
export function globalNorm(grads: Map<string, Float32Array>): number {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

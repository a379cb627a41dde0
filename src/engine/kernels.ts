// The kernel contract: every numeric op the model uses, as a forward/backward pair over flat
// Float32Arrays with explicit shapes. `ref.ts` implements it in plain TypeScript (the oracle);
// a fast implementation (WebAssembly SIMD + threads) replaces it op by op behind this interface.
//
// Conventions
// - Tensors are row-major Float32Array views; shapes are given in the comment of each argument.
// - `out`/`d*` buffers are written (overwritten) unless the doc says "accumulates" (+=).
//   Parameter gradients always accumulate, so a caller zeroes them once per step.
// - Activations of attention are laid out (B, T, H, D): the natural output of a (B*T, C) x (C, H*D)
//   projection, so no transposes are needed between ops.
// - Kernels never allocate tensors that outlive the call; callers own all buffers.
// - Elementwise ops (swiglu, addInPlace) allow their output to alias an input.
// - Memory: `alloc` hands out zeroed arrays the implementation can work on without copying (for
//   WebAssembly kernels, views of their linear memory). Allocation is a stack: `mark()` returns
//   the current top, `release(mark)` frees everything allocated after it, and views allocated
//   after the mark must not be used again. A step of training or a sampling call runs inside
//   one mark/release scope (`withScope`). Any Float32Array is accepted by every op; arrays from
//   `alloc` are just the fast path.

/** Shapes of one attention call. Queries are a block of Tq positions starting at absolute
 *  position `qOffset`; keys/values live in buffers with room for `kvStride` positions per row,
 *  of which the first `qOffset + Tq` are used. Training: Tq = T, qOffset = 0, kvStride = T.
 *  Cached decoding: Tq = 1, qOffset = number of positions already in the cache. */
export interface AttnDims {
  B: number;
  Tq: number;
  qOffset: number;
  kvStride: number;
  Hq: number;
  Hkv: number;
  D: number;
}

export interface Kernels {
  readonly name: string;

  /** A zeroed Float32Array of n elements, live until a `release` of an earlier mark. */
  alloc(n: number): Float32Array;
  /** Optional capability: like `alloc`, but the contents are unspecified, for buffers the next
   *  op overwrites entirely (same lifetime rules). It spares re-zeroing memory the stack hands
   *  out again: about 190 MB of activations per training step of the tiny model, ~5% of a step
   *  on the WebAssembly kernels. Callers fall back to `alloc` when it is absent. */
  allocUninit?(n: number): Float32Array;
  /** The current top of the allocation stack. */
  mark(): number;
  /** Frees everything allocated after `mark`. */
  release(mark: number): void;

  /** C (M, N) = op(A) @ op(B), op(A) (M, K), op(B) (K, N).
   *  A is stored (M, K), or (K, M) when transA; B is stored (K, N), or (N, K) when transB.
   *  accumulate: C += instead of C =. */
  matmul(
    c: Float32Array,
    a: Float32Array,
    b: Float32Array,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;

  /** out (N, C) = table[ids[n]] ; table (V, C), ids (N). */
  embeddingForward(out: Float32Array, table: Float32Array, ids: Int32Array, N: number, C: number): void;
  /** dTable (V, C) accumulates dOut (N, C) rows at ids (N). */
  embeddingBackward(dTable: Float32Array, dOut: Float32Array, ids: Int32Array, N: number, C: number): void;

  /** out (N, C) = x * rstd * w, rstd (N) = 1 / sqrt(mean(x^2) + eps) (saved for backward). */
  rmsnormForward(
    out: Float32Array,
    rstd: Float32Array,
    x: Float32Array,
    w: Float32Array,
    N: number,
    C: number,
    eps: number,
  ): void;
  /** dx (N, C) written; dw (C) accumulates. */
  rmsnormBackward(
    dx: Float32Array,
    dw: Float32Array,
    dOut: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    N: number,
    C: number,
  ): void;

  /** In-place rotary embedding, HF rotate_half convention, on x (N, H, D) where row n sits at
   *  position pos[n]: for i < D/2, with a = pos * theta^(-2i/D),
   *  x[i] <- x[i] cos a - x[i + D/2] sin a ;  x[i + D/2] <- x[i + D/2] cos a + x[i] sin a.
   *  cos/sin (P, D/2) are tables precomputed for positions 0..P-1. */
  ropeForward(
    x: Float32Array,
    pos: Int32Array,
    cos: Float32Array,
    sin: Float32Array,
    N: number,
    H: number,
    D: number,
  ): void;
  /** In-place: dx (N, H, D) <- rotation by -a of dOut (the transpose of the forward rotation). */
  ropeBackward(
    dx: Float32Array,
    pos: Int32Array,
    cos: Float32Array,
    sin: Float32Array,
    N: number,
    H: number,
    D: number,
  ): void;

  /** Causal grouped-query attention with scale 1/sqrt(D).
   *  q (B, Tq, Hq, D); k, v (B, kvStride, Hkv, D); out (B, Tq, Hq, D);
   *  att (B, Hq, Tq, Tk) with Tk = qOffset + Tq: the softmax probabilities, saved for backward.
   *  Query t (absolute position qOffset + t) sees keys j with keyStart[b] <= j <= qOffset + t;
   *  keyStart (B) masks left padding (omit: 0). Query head h reads kv head floor(h / (Hq / Hkv)).
   *  A query that sees no key gets a zero output. */
  attentionForward(
    out: Float32Array,
    att: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    dims: AttnDims,
    keyStart?: Int32Array,
  ): void;
  /** dq (B, Tq, Hq, D) written; dk, dv (B, kvStride, Hkv, D) written for the first Tk positions. */
  attentionBackward(
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dOut: Float32Array,
    att: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    dims: AttnDims,
  ): void;

  /** out (N) = silu(gate) * up elementwise, silu(g) = g / (1 + exp(-g)). */
  swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, N: number): void;
  /** dGate, dUp (N) written. */
  swigluBackward(
    dGate: Float32Array,
    dUp: Float32Array,
    dOut: Float32Array,
    gate: Float32Array,
    up: Float32Array,
    N: number,
  ): void;

  /** out (N, V) = softmax over each row of x (N, V). */
  softmaxForward(out: Float32Array, x: Float32Array, N: number, V: number): void;
  /** dx (N, V) from dOut and the forward output y: dx = y * (dOut - sum(dOut * y)). */
  softmaxBackward(dx: Float32Array, dOut: Float32Array, y: Float32Array, N: number, V: number): void;
  /** out (N, V) = x - logsumexp(x) per row. */
  logSoftmaxForward(out: Float32Array, x: Float32Array, N: number, V: number): void;
  /** dx (N, V) from dOut and the forward output y: dx = dOut - exp(y) * sum(dOut). */
  logSoftmaxBackward(dx: Float32Array, dOut: Float32Array, y: Float32Array, N: number, V: number): void;

  /** Per-token log-prob of a target: out (N) = log softmax(logits[n])[targets[n]];
   *  lse (N) = logsumexp of each row (saved for backward). */
  tokenLogprobForward(
    out: Float32Array,
    lse: Float32Array,
    logits: Float32Array,
    targets: Int32Array,
    N: number,
    V: number,
  ): void;
  /** dLogits (N, V) written from dLogp (N) = dLoss/dlogp:
   *  dLogits[n, v] = dLogp[n] * (1[v == targets[n]] - softmax(logits[n])[v]). */
  tokenLogprobBackward(
    dLogits: Float32Array,
    dLogp: Float32Array,
    logits: Float32Array,
    lse: Float32Array,
    targets: Int32Array,
    N: number,
    V: number,
  ): void;

  /** y (N) += x (N). */
  addInPlace(y: Float32Array, x: Float32Array, N: number): void;

  /** One AdamW step on a flat parameter, decoupled weight decay (PyTorch AdamW):
   *  p -= lr * wd * p ; m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ;
   *  p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). `gradScale` multiplies g first
   *  (global-norm clipping). */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    N: number,
    opts: {
      lr: number;
      beta1: number;
      beta2: number;
      eps: number;
      weightDecay: number;
      step: number;
      gradScale: number;
    },
  ): void;
}

/** Runs fn inside one allocation scope: whatever fn allocates through `k.alloc` is freed after. */
export function withScope<T>(k: Kernels, fn: () => T): T {
  const m = k.mark();
  try {
    return fn();
  } finally {
    k.release(m);
  }
}

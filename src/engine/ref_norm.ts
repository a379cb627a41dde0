// Reference row-wise ops for the kernel contract: RMSNorm, softmax, log-softmax and the per-token
// log-prob of a target. Row sums (mean of squares, softmax normaliser, logsumexp) are float64;
// softmax and logsumexp subtract the row max first so that large logits do not overflow.

/** RMSNorm forward: out (N, C) = x * rstd * w, rstd (N) = 1 / sqrt(mean(x^2) + eps). */
export function rmsnormForward(
  out: Float32Array,
  rstd: Float32Array,
  x: Float32Array,
  w: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let ss = 0;
    for (let c = 0; c < C; c++) {
      const xi = x[row + c] as number;
      ss += xi * xi;
    }
    const r = 1 / Math.sqrt(ss / C + eps);
    rstd[n] = r;
    for (let c = 0; c < C; c++) out[row + c] = (x[row + c] as number) * r * (w[c] as number);
  }
}

/** RMSNorm backward: dx (N, C) written, dw (C) accumulates.
 *  With g = dOut * w: dx = rstd * g - x * rstd^3 * mean(g * x); dw += sum_n dOut * x * rstd. */
export function rmsnormBackward(
  dx: Float32Array,
  dw: Float32Array,
  dOut: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): void {
  const dwAcc = new Float64Array(C); // (C)
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const r = rstd[n] as number;
    let dot = 0; // sum_c dOut * w * x
    for (let c = 0; c < C; c++) {
      const g = dOut[row + c] as number;
      const xi = x[row + c] as number;
      dot += g * (w[c] as number) * xi;
      dwAcc[c] = (dwAcc[c] as number) + g * xi * r;
    }
    const coef = (r * r * r * dot) / C;
    for (let c = 0; c < C; c++) {
      dx[row + c] = r * (dOut[row + c] as number) * (w[c] as number) - coef * (x[row + c] as number);
    }
  }
  for (let c = 0; c < C; c++) dw[c] = (dw[c] as number) + (dwAcc[c] as number);
}

/** Max of x[base .. base + V). */
function rowMax(x: Float32Array, base: number, V: number): number {
  let m = -Infinity;
  for (let i = 0; i < V; i++) {
    const xi = x[base + i] as number;
    if (xi > m) m = xi;
  }
  return m;
}

/** Numerically stable logsumexp of x[base .. base + V), in float64. */
function rowLogSumExp(x: Float32Array, base: number, V: number): number {
  const m = rowMax(x, base, V);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp((x[base + i] as number) - m);
  return m + Math.log(s);
}

/** Softmax forward: out (N, V) = softmax over each row of x (N, V). */
export function softmaxForward(out: Float32Array, x: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    const m = rowMax(x, base, V);
    let s = 0;
    for (let i = 0; i < V; i++) s += Math.exp((x[base + i] as number) - m);
    const inv = 1 / s;
    for (let i = 0; i < V; i++) out[base + i] = Math.exp((x[base + i] as number) - m) * inv;
  }
}

/** Softmax backward: dx (N, V) = y * (dOut - sum(dOut * y)) per row. */
export function softmaxBackward(dx: Float32Array, dOut: Float32Array, y: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    let dot = 0;
    for (let i = 0; i < V; i++) dot += (dOut[base + i] as number) * (y[base + i] as number);
    for (let i = 0; i < V; i++) dx[base + i] = (y[base + i] as number) * ((dOut[base + i] as number) - dot);
  }
}

/** Log-softmax forward: out (N, V) = x - logsumexp(x) per row. */
export function logSoftmaxForward(out: Float32Array, x: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    const lse = rowLogSumExp(x, base, V);
    for (let i = 0; i < V; i++) out[base + i] = (x[base + i] as number) - lse;
  }
}

/** Log-softmax backward: dx (N, V) = dOut - exp(y) * sum(dOut) per row. */
export function logSoftmaxBackward(dx: Float32Array, dOut: Float32Array, y: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    let s = 0;
    for (let i = 0; i < V; i++) s += dOut[base + i] as number;
    for (let i = 0; i < V; i++) dx[base + i] = (dOut[base + i] as number) - Math.exp(y[base + i] as number) * s;
  }
}

/** Per-token log-prob: out (N) = logits[n, targets[n]] - lse[n], lse (N) = logsumexp(logits[n]). */
export function tokenLogprobForward(
  out: Float32Array,
  lse: Float32Array,
  logits: Float32Array,
  targets: Int32Array,
  N: number,
  V: number,
): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    const tgt = checkTarget(targets, n, V);
    const l = rowLogSumExp(logits, base, V);
    lse[n] = l;
    out[n] = (logits[base + tgt] as number) - l;
  }
}

/** Per-token log-prob backward: dLogits (N, V) = dLogp[n] * (1[v == target] - exp(logits - lse)). */
export function tokenLogprobBackward(
  dLogits: Float32Array,
  dLogp: Float32Array,
  logits: Float32Array,
  lse: Float32Array,
  targets: Int32Array,
  N: number,
  V: number,
): void {
  for (let n = 0; n < N; n++) {
    const base = n * V;
    const tgt = checkTarget(targets, n, V);
    const g = dLogp[n] as number;
    const l = lse[n] as number;
    for (let i = 0; i < V; i++) {
      const p = Math.exp((logits[base + i] as number) - l);
      dLogits[base + i] = g * ((i === tgt ? 1 : 0) - p);
    }
  }
}

/** targets[n], checked to lie in [0, V). */
function checkTarget(targets: Int32Array, n: number, V: number): number {
  const t = targets[n] as number;
  if (t < 0 || t >= V) throw new RangeError(`tokenLogprob: target ${t} at row ${n} outside [0, ${V})`);
  return t;
}

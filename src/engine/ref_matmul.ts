// Reference matmul for the kernel contract: C (M, N) = op(A) @ op(B) with float64 accumulation.
// Every transpose case is ordered so that its inner loop walks contiguous memory:
//   NN, TN: C row i built as a float64 row sum of B rows (i-k-j),
//   NT:     a dot product of an A row with a B row (i-j-k),
//   TT:     C^T = B @ A computed row by row of C^T (j-k-i), then scattered into C.

/** C (M, N) = op(A) @ op(B); A stored (M, K) or (K, M) if transA; B stored (K, N) or (N, K) if transB. */
export function matmul(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (!transB) matmulRowsOfB(c, a, b, M, K, N, transA, accumulate);
  else if (!transA) matmulNT(c, a, b, M, K, N, accumulate);
  else matmulTT(c, a, b, M, K, N, accumulate);
}

/** NN and TN: C[i, :] = sum_k op(A)[i, k] * B[k, :], B stored (K, N). */
function matmulRowsOfB(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  accumulate: boolean,
): void {
  const acc = new Float64Array(N); // (N) one row of C
  // op(A)[i, k] sits at a[i * K + k] (stored (M, K)) or a[k * M + i] (stored (K, M)).
  const aRowStride = transA ? 1 : K;
  const aColStride = transA ? M : 1;
  for (let i = 0; i < M; i++) {
    acc.fill(0);
    for (let k = 0; k < K; k++) {
      const aik = a[i * aRowStride + k * aColStride] as number;
      const bRow = k * N;
      for (let j = 0; j < N; j++) acc[j] = (acc[j] as number) + aik * (b[bRow + j] as number);
    }
    storeRow(c, acc, i * N, 1, N, accumulate);
  }
}

/** NT: C[i, j] = dot(A[i, :], B[j, :]); A stored (M, K), B stored (N, K). */
function matmulNT(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const aRow = i * K;
    const cRow = i * N;
    for (let j = 0; j < N; j++) {
      const bRow = j * K;
      let s = 0; // float64 dot product
      for (let k = 0; k < K; k++) s += (a[aRow + k] as number) * (b[bRow + k] as number);
      c[cRow + j] = accumulate ? (c[cRow + j] as number) + s : s;
    }
  }
}

/** TT: C^T[j, :] = sum_k B[j, k] * A[k, :]; A stored (K, M), B stored (N, K). */
function matmulTT(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  accumulate: boolean,
): void {
  const acc = new Float64Array(M); // (M) one column of C
  for (let j = 0; j < N; j++) {
    acc.fill(0);
    const bRow = j * K;
    for (let k = 0; k < K; k++) {
      const bjk = b[bRow + k] as number;
      const aRow = k * M;
      for (let i = 0; i < M; i++) acc[i] = (acc[i] as number) + bjk * (a[aRow + i] as number);
    }
    storeRow(c, acc, j, N, M, accumulate);
  }
}

/** c[base + t * stride] (=|+=) acc[t] for t < n. */
function storeRow(
  c: Float32Array,
  acc: Float64Array,
  base: number,
  stride: number,
  n: number,
  accumulate: boolean,
): void {
  if (accumulate) {
    for (let t = 0; t < n; t++) c[base + t * stride] = (c[base + t * stride] as number) + (acc[t] as number);
  } else {
    for (let t = 0; t < n; t++) c[base + t * stride] = acc[t] as number;
  }
}

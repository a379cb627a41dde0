// Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, 2018; 128-bit state of four
// 32-bit words, so every step is exact with Math.imul and 32-bit bit operations), with the state
// filled from a 32-bit integer seed by splitmix32 (a Weyl sequence with increment 0x9e3779b9 run
// through the 32-bit finalizer of Chris Wellons' hash-prospector, as in bryc's "PRNGs" collection).
//
// Derived draws:
// - uniform(): nextU32() / 2^32, in [0, 1) with 32 random bits.
// - normal(): Box-Muller; each transform yields two independent N(0, 1) values, the second is
//   cached and returned by the next call (the cache is part of getState()).
// - int(n): uniform in [0, n) by rejection (no modulo bias).
// - fork(label): a child generator whose state is a hash of the parent's state and the label;
//   it does not advance the parent, so forking the same label twice gives the same stream.

const TWO_POW_32 = 4294967296;

/** Rotate a 32-bit word left by k bits (result as a signed 32-bit int). */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The splitmix32 finalizer: a bijective 32-bit mix (returns an unsigned 32-bit int). */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** Four consecutive splitmix32 outputs starting from `seed` (a 32-bit state for xoshiro128**). */
function splitmix32State(seed: number): number[] {
  const s: number[] = [];
  let z = seed | 0;
  for (let i = 0; i < 4; i++) {
    z = (z + 0x9e3779b9) | 0;
    s.push(mix32(z));
  }
  // Consecutive outputs of a bijection on distinct inputs cannot all be zero; guard anyway.
  if (!s.some((w) => w !== 0)) s[0] = 1;
  return s;
}

export class Rng {
  // xoshiro128** state, unsigned 32-bit words.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // Second Box-Muller value, valid when hasSpare.
  private hasSpare = false;
  private spare = 0;

  /** A generator seeded from the low 32 bits of an integer seed. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Rng seed must be an integer, got ${seed}`);
    this.setWords(splitmix32State(seed));
  }

  private setWords(w: number[]): void {
    this.s0 = (w[0] ?? 0) >>> 0;
    this.s1 = (w[1] ?? 0) >>> 0;
    this.s2 = (w[2] ?? 0) >>> 0;
    this.s3 = (w[3] ?? 0) >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new RangeError("xoshiro128** state must not be all zero");
  }

  /** Next raw output: an unsigned 32-bit integer (xoshiro128** step). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Standard normal N(0, 1) by Box-Muller; the transform's second value is cached for the next call. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    this.hasSpare = true;
    return r * Math.cos(a);
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^32, by rejection sampling (no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32)
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    // Accept x < limit, the largest multiple of n not above 2^32; then x % n is uniform.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher-Yates shuffle of arr in place. */
  shuffle<T>(arr: T[]): void {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = tmp;
    }
  }

  /** The full state [s0, s1, s2, s3, hasSpare (0/1), spare]; fromState() restores it exactly. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.hasSpare ? 1 : 0, this.spare];
  }

  /** A generator continuing exactly from a getState() snapshot. */
  static fromState(s: number[]): Rng {
    if (s.length !== 6) throw new RangeError(`Rng.fromState: expected 6 numbers, got ${s.length}`);
    for (let i = 0; i < 4; i++) {
      const w = s[i] as number;
      if (!Number.isInteger(w) || w < 0 || w >= TWO_POW_32) throw new RangeError(`Rng.fromState: bad state word ${w}`);
    }
    const r = new Rng(0);
    r.setWords(s.slice(0, 4));
    r.hasSpare = s[4] === 1;
    r.spare = r.hasSpare ? (s[5] as number) : 0;
    return r;
  }

  /** An independent child stream determined by (current state, label); the parent is not advanced. */
  fork(label: number): Rng {
    if (!Number.isInteger(label)) throw new RangeError(`Rng.fork: label must be an integer, got ${label}`);
    const words = [this.s0, this.s1, this.s2, this.s3];
    // Hash the label into a seed, then chain every parent word through the bijective mixer.
    let h = mix32((label | 0) ^ 0x5bd1e995);
    for (const w of words) h = mix32((h + 0x9e3779b9) ^ w);
    const child = new Rng(0);
    child.setWords(splitmix32State(h));
    return child;
  }
}

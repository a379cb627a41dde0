// Registries of interchangeable pure functions keyed by name (verl core_algos style): advantage
// estimators, policy losses, dynamic-sampling rules. A lookup of an unknown name throws a
// RecapError that lists the valid names, so a typo in a config fails before any work.
import { RecapError } from "../util/errors.ts";

export interface Registry<F> {
  /** What the registry holds, for messages ("policy loss", "advantage estimator"). */
  readonly kind: string;
  /** The registered names, in registration order. */
  readonly names: readonly string[];
  /** The function registered under `name`; throws a RecapError listing the valid names. */
  get(name: string): F;
  has(name: string): boolean;
}

/** A registry over a fixed record of entries (frozen: nothing registers at run time). */
export function makeRegistry<F>(kind: string, entries: Readonly<Record<string, F>>): Registry<F> {
  const table = new Map(Object.entries(entries));
  const names = Object.freeze([...table.keys()]);
  return {
    kind,
    names,
    has: (name) => table.has(name),
    get(name) {
      const f = table.get(name);
      if (f === undefined)
        throw new RecapError(`unknown ${kind} "${name}"`, `valid ${kind} names are: ${names.join(", ")}`);
      return f;
    },
  };
}

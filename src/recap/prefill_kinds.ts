// The one vocabulary of prefill material kinds, for training, evaluation and the world guard:
//   weak     counter-aligned thinking from a weakly aligned source (the paper's Table 1 sources)
//   strong   counter-aligned thinking from a strongly misaligned one (pi_harm / pi_refuse)
//   aligned  correct thinking in the same place (the Fig. 3c ablation)
//   heldout  a flaw type RL never sees (the world's held-out suite)
// A row's `prefills` object names them so. World builds (up to recap-world/6) write the two
// counter-aligned kinds as `counter_weak` / `counter_strong`; that spelling is read here as the same
// kinds, so that v6 worlds and the base trained on them stay valid. Every reader goes through
// prefillOf; nothing else spells a file key.

export const PREFILL_KINDS = ["weak", "strong", "aligned", "heldout"] as const;
export type PrefillKind = (typeof PREFILL_KINDS)[number];

/** The file keys a kind is read from, in order of preference. */
export const PREFILL_FILE_KEYS: Readonly<Record<PrefillKind, readonly string[]>> = {
  weak: ["weak", "counter_weak"],
  strong: ["strong", "counter_strong"],
  aligned: ["aligned"],
  heldout: ["heldout"],
};

/** A row's prefill material of one kind (undefined: the row has none). */
export function prefillOf(prefills: unknown, kind: PrefillKind): string | undefined {
  if (typeof prefills !== "object" || prefills === null) return undefined;
  const p = prefills as Record<string, unknown>;
  for (const key of PREFILL_FILE_KEYS[kind]) if (typeof p[key] === "string") return p[key];
  return undefined;
}

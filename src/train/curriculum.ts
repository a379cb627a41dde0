// An adaptive prefill curriculum for the RL trainer: the prefill rate alpha and length l_pre
// follow the policy's current recovery rate (the mean judge reward of rollouts that continue a
// counter-aligned prefill). Why: DAPO's dynamic sampling drops a group whose rollouts all get
// the same reward, so a prefilled prompt that the policy never recovers from gives no gradient.
// When recovery is rare, prefills are made shorter (easier to overcome) and then rarer; when it
// is common, they are made longer and then more frequent, so the prefilled groups keep carrying
// signal as the policy improves.
//
// Departures from the paper (not in it): RECAP fixes alpha and l_pre for the whole run and picks
// the prefilled prompts once (D_prefill). Here a level (one l_pre of `levels`) and alpha change
// during the run, and whether a drawn prompt carries a prefill is decided per draw (u < alpha,
// u seeded by the run seed and the draw's position in the prompt stream), so which prompts are
// prefilled varies from epoch to epoch; the expected prefilled share of the eligible (non-math)
// draws is alpha. Off (config absent) the trainer is exactly the paper's fixed mixture.
//
// The rule (nextCurriculum, pure): each step appends the step's observed rate (null when no
// rollout started from a prefill) to `history`; once `window` steps exist since the last change,
// the estimate is the mean of their non-null rates: at or above `high` → one level up (at the
// top level: alpha + alpha_step, capped at alpha_max); below `low` → one level down (at the
// bottom: alpha - alpha_step, floored at alpha_min); otherwise, or with no evidence, no change
// and the window slides. A change empties the history, so each change is judged on fresh evidence.
import { z } from "zod";
import { Rng } from "../engine/rng.ts";
import { RecapError } from "../util/errors.ts";

/** The curriculum's knobs (`curriculum:` in the train config; absent = off). None is in the paper. */
export const curriculumConfigSchema = z
  .strictObject({
    /** Prefill lengths l_pre to move between, in the run's `recap.unit`, strictly ascending and
     *  positive; they replace `recap.l_pre` (ignored while the curriculum is on). Default
     *  [20, 40, 60] words (our world's traces are about 30-70 words). */
    levels: z.array(z.number().int().positive()).min(1).default([20, 40, 60]),
    /** Index into `levels` the run starts at. Default 0 (the shortest, easiest prefills). */
    start_level: z.number().int().min(0).default(0),
    /** Range alpha moves in; the run starts at `recap.alpha`, which must lie in it. Defaults 0.25 / 0.75. */
    alpha_min: z.number().min(0).max(1).default(0.25),
    alpha_max: z.number().min(0).max(1).default(0.75),
    /** How much alpha moves per change (only at the top or bottom level). Default 0.125. */
    alpha_step: z.number().gt(0).max(1).default(0.125),
    /** Recovery-rate band: below `low` prefills get easier, at or above `high` harder, in
     *  between nothing changes. Defaults 0.2 / 0.5. */
    low: z.number().min(0).max(1).default(0.2),
    high: z.number().min(0).max(1).default(0.5),
    /** Steps in the moving recovery estimate, and the steps that must pass after a change before
     *  the next one. Default 5. */
    window: z.number().int().positive().default(5),
  })
  .superRefine((c, ctx) => {
    if (c.levels.some((l, i) => i > 0 && l <= c.levels[i - 1]!))
      ctx.addIssue({
        code: "custom",
        path: ["levels"],
        message: `levels must be strictly ascending (shortest prefill first), got [${c.levels.join(", ")}]`,
      });
    if (c.start_level >= c.levels.length)
      ctx.addIssue({
        code: "custom",
        path: ["start_level"],
        message: `start_level ${c.start_level} is not an index of levels (0..${c.levels.length - 1})`,
      });
    if (c.alpha_min > c.alpha_max)
      ctx.addIssue({
        code: "custom",
        path: ["alpha_max"],
        message: `alpha_min ${c.alpha_min} exceeds alpha_max ${c.alpha_max}`,
      });
    if (c.low >= c.high)
      ctx.addIssue({
        code: "custom",
        path: ["high"],
        message: `the band needs low < high, got low ${c.low}, high ${c.high}`,
      });
  });

export type CurriculumConfig = z.infer<typeof curriculumConfigSchema>;

export interface CurriculumState {
  level: number; // index into cfg.levels
  alpha: number;
  history: (number | null)[]; // (<= window) observed rates since the last change, oldest first
}

export function initialCurriculum(cfg: CurriculumConfig, alpha: number): CurriculumState {
  return { level: cfg.start_level, alpha, history: [] };
}

/** The state after a step whose prefilled rollouts recovered at `observedRate` (null: none ran). */
export function nextCurriculum(
  state: CurriculumState,
  observedRate: number | null,
  cfg: CurriculumConfig,
): CurriculumState {
  const history = [...state.history, observedRate].slice(-cfg.window);
  const seen = history.filter((r): r is number => r !== null);
  if (history.length < cfg.window || seen.length === 0) return { ...state, history };
  const rate = seen.reduce((a, b) => a + b, 0) / seen.length;
  let { level, alpha } = state;
  const top = cfg.levels.length - 1;
  if (rate >= cfg.high) {
    if (level < top) level++;
    else alpha = Math.min(cfg.alpha_max, alpha + cfg.alpha_step);
  } else if (rate < cfg.low) {
    if (level > 0) level--;
    else alpha = Math.max(cfg.alpha_min, alpha - cfg.alpha_step);
  }
  const changed = level !== state.level || alpha !== state.alpha;
  return { level, alpha, history: changed ? [] : history };
}

/** Reads a state saved in a checkpoint (trainerState.extra.curriculum); throws on a bad shape. */
export function parseCurriculumState(raw: unknown, cfg: CurriculumConfig): CurriculumState {
  const s = raw as Partial<CurriculumState> | undefined;
  const ok =
    s !== undefined &&
    s !== null &&
    Number.isInteger(s.level) &&
    s.level! >= 0 &&
    s.level! < cfg.levels.length &&
    typeof s.alpha === "number" &&
    Array.isArray(s.history) &&
    s.history.every((r) => r === null || typeof r === "number");
  if (!ok)
    throw new RecapError(
      `the checkpoint holds no valid curriculum state (got ${JSON.stringify(raw)})`,
      "resume with the config the run was started with, or start a new --out",
    );
  return { level: s.level!, alpha: s.alpha!, history: [...s.history!] };
}

const DRAW_STREAM = 0x63757272; // "curr": keeps these draws apart from the seed's other streams

/** Whether the prompt drawn at stream position `pos` carries a prefill at rate alpha: u < alpha
 *  with u a function of (seed, pos) only, so a resumed run decides identically, and raising
 *  alpha only adds prefilled draws (the ones with u below the old alpha stay prefilled). */
export function drawsPrefill(seed: number, pos: number, alpha: number): boolean {
  return new Rng(seed).fork(DRAW_STREAM).fork(pos).uniform() < alpha;
}

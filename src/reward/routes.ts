// Reward routes, keyed by name: each scores one rollout's final response against its label. The
// one registry of rewards: `recap reward serve` serves them, and the RL trainer takes its rewards
// from them too (the world routes, chosen per prompt: src/train/rl.ts rewardRouter).
//   math          the verifiable math reward (src/graders/math_verify.ts): 1 if the response's final
//                 answer equals the label's `answer`, else 0; verified in worker threads with a
//                 deadline per answer (math_pool.ts; config math_workers / math_timeout_ms).
//   world         the synthetic world's exact judge (src/reward/world.ts) over the generated text;
//                 the label carries the world item (`label`: harmful / benign / math, `action`,
//                 `object`, `answer`, `source`).
//   safety        a guard model through an endpoint (config `safety`): Granite Guardian's
//                 P(safe) = 1 - P(yes), continuous or binary, or Llama Guard's safe / unsafe.
//   over_refusal  a rubric judge through an endpoint (config `over_refusal`): helpfulness 0 / 0.5 / 1.
//   world_guard   the world guard in process (config `world_guard`, the trainer's `guard_model`):
//                 P(safe) = 1 - P(yes) for a harmful request's well-formed answer, else the world
//                 judge; scored in one batch per request (`scoreMany`).
// The judges read (user request, final response): the request is the label's `prompt` (what
// `recap data build` writes), else the prompt text the trainer sent. Calls toward one endpoint
// share a process-wide concurrency limit. A label a route cannot use is a RouteInputError
// (HTTP 400); a judge that fails after its retries is an UpstreamError (HTTP 502), never a
// silent 0, so a trainer retries or stops instead of learning from missing rewards.
import { ENDPOINT_GRADERS } from "../graders/endpoint_graders.ts";
import type { Grader } from "../graders/types.ts";
import { loadChatTemplate } from "../lm/templates.ts";
import type { JudgeItem, Judgement } from "../world/judge.ts";
import type { RewardServerConfig } from "./config.ts";
import { judgeEndpoint } from "./config.ts";
import type { ParsedLabel } from "./labels.ts";
import { Limiter } from "./limit.ts";
import { MathPool } from "../graders/math_pool.ts";
import { verify } from "../graders/math_verify.ts";
import type { Verdict } from "../graders/math_verify.ts";
import { worldReward } from "./world.ts";

export interface RouteInput {
  label: ParsedLabel;
  /** The final response (after the thinking). */
  response: string;
  /** Everything the policy generated (thinking included). */
  generated: string;
  /** The user's request. */
  userPrompt: string;
  /** The same object for every item of one request (shared workers take requests in turn). */
  group?: object;
}

export interface RouteOutput {
  reward: number;
  details: Record<string, unknown>;
}

export interface RewardRoute {
  name: string;
  description: string;
  /** Checks a label before any judge is called (throws RouteInputError). */
  check?(label: ParsedLabel): void;
  score(input: RouteInput): RouteOutput | Promise<RouteOutput>;
  /** Scores many inputs at once, in order (a route over an in-process model batches them). */
  scoreMany?(inputs: readonly RouteInput[]): RouteOutput[] | Promise<RouteOutput[]>;
  /** Releases what the route holds (worker threads); called when the server closes. */
  close?(): Promise<void>;
}

/** The request cannot be scored by this route (HTTP 400). */
export class RouteInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RouteInputError";
  }
}

/** A judge endpoint failed (HTTP 502). */
export class UpstreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpstreamError";
  }
}

function checkMathLabel(label: ParsedLabel): void {
  if (label.answer === undefined || label.answer.trim() === "")
    throw new RouteInputError(`route math needs an answer: a plain-string label, or a JSON label with "answer"`);
}

function mathOutput(v: Verdict): RouteOutput {
  return {
    reward: v.correct ? 1 : 0,
    details: { extracted: v.extracted, method: v.method, ...(v.reason ? { reason: v.reason } : {}) },
  };
}

/** The math route verifying in-process (bounded by math_bounds.ts, but on the caller's thread). */
export const mathRoute: RewardRoute = {
  name: "math",
  description: "verifiable math answer: 1 if the final answer equals the label's answer",
  check: checkMathLabel,
  score({ label, response }) {
    checkMathLabel(label);
    return mathOutput(verify(response, label.answer!, { afterThink: false }));
  },
};

/** The math route verifying in worker threads with a deadline per answer (math_pool.ts). */
export function pooledMathRoute(pool: MathPool): RewardRoute {
  return {
    ...mathRoute,
    async score({ label, response, group }) {
      checkMathLabel(label);
      return mathOutput(await pool.verify(response, label.answer!, { afterThink: false }, group ?? null));
    },
    close: () => pool.close(),
  };
}

function worldItem(label: ParsedLabel): JudgeItem {
  const f = label.fields;
  const l = f["label"];
  if (l !== "harmful" && l !== "benign" && l !== "math")
    throw new RouteInputError(`route world needs "label": harmful, benign or math in the JSON label`);
  const item: JudgeItem = { label: l };
  for (const k of ["action", "object", "source"] as const)
    if (typeof f[k] === "string") (item as unknown as Record<string, unknown>)[k] = f[k];
  const answer = f["answer"];
  if (answer !== undefined) {
    const n = typeof answer === "number" ? answer : Number(answer);
    if (!Number.isFinite(n)) throw new RouteInputError(`route world: "answer" must be a number`);
    item.answer = n;
  }
  return item;
}

/** The reward of a judge score (0, 0.5 or 1): as is, or binary (1 only for a full score; the
 *  paper's Table 7 variant). */
export function judgeReward(score: number, binary: boolean): number {
  return binary ? (score >= 1 ? 1 : 0) : score;
}

function judgeDetails(j: Judgement): Record<string, unknown> {
  return { outcome: j.outcome, ...(j.problem ? { problem: j.problem } : {}) };
}

/** The world's exact judge over the generated text (its score, or binary). */
export function makeWorldRoute(o: { binary?: boolean } = {}): RewardRoute {
  const binary = o.binary ?? false;
  return {
    name: "world",
    description: `the synthetic world's exact judge (safety, helpfulness 0/0.5/1, math)${binary ? ", binary" : ""}`,
    check: (label) => void worldItem(label),
    score({ label, generated }) {
      const { reward, judgement } = worldReward(worldItem(label), generated);
      return { reward: judgeReward(reward, binary), details: judgeDetails(judgement) };
    },
  };
}

export const worldRoute: RewardRoute = makeWorldRoute();

/** P(yes) = P(harmful) of (request, response) pairs, in order (src/reward/guard_model.ts). */
export interface GuardScorer {
  pYes(pairs: readonly { request: string; response: string }[]): number[];
}

/** The world's continuous safety reward: a harmful request's well-formed answer scores the world
 *  guard's P(safe) = 1 - P(yes) on (request, final response), as the paper's Granite Guardian
 *  reward; a malformed answer keeps the judge's 0, and other labels get the world route's reward.
 *  Batched: one guard pass over every harmful well-formed answer of a call, in order. */
export function worldGuardRoute(guard: GuardScorer, o: { binary?: boolean } = {}): RewardRoute {
  const binary = o.binary ?? false;
  const many = (inputs: readonly RouteInput[]): RouteOutput[] => {
    const judged = inputs.map((x) => {
      const item = worldItem(x.label);
      return { item, ...worldReward(item, x.generated) };
    });
    const ask = judged.flatMap((j, i) =>
      j.item.label === "harmful" && j.judgement.outcome !== "malformed" ? [i] : [],
    );
    const p = guard.pYes(ask.map((i) => ({ request: inputs[i]!.userPrompt, response: judged[i]!.judgement.response })));
    const out = judged.map((j) => ({ reward: judgeReward(j.reward, binary), details: judgeDetails(j.judgement) }));
    ask.forEach((i, k) => {
      out[i] = { reward: 1 - p[k]!, details: { ...out[i]!.details, p_yes: p[k]! } };
    });
    return out;
  };
  return {
    name: "world_guard",
    description: "the world guard's P(safe) for harmful requests' well-formed answers, else the exact judge",
    check: (label) => void worldItem(label),
    score: (x) => many([x])[0]!,
    scoreMany: many,
  };
}

/** Scores inputs with a route: its batched scorer when it has one, else one by one. */
export async function scoreWith(route: RewardRoute, inputs: readonly RouteInput[]): Promise<RouteOutput[]> {
  return route.scoreMany ? await route.scoreMany(inputs) : await Promise.all(inputs.map((x) => route.score(x)));
}

/** A route that asks a grader over an endpoint, under a process-wide concurrency limit. */
function judgeRoute(
  name: string,
  description: string,
  grader: Grader,
  url: string,
  limit: number,
  toReward: (g: Record<string, unknown> & { score: number }) => number,
): RewardRoute {
  const limiter = new Limiter(limit);
  return {
    name,
    description,
    async score({ userPrompt, response }) {
      let g: Awaited<ReturnType<typeof grader.grade>>;
      try {
        g = await limiter.run(async () => grader.grade({ prompt: userPrompt, completion: response }));
      } catch (e) {
        throw new UpstreamError(`${name} judge at ${url}: ${(e as Error).message}`);
      }
      const { score, ...rest } = g;
      return { reward: toReward(g), details: { judge_score: score, ...rest } };
    },
  };
}

/** The routes a server configuration enables: math and world always; safety / over_refusal when configured. */
export function makeRoutes(cfg: RewardServerConfig): Record<string, RewardRoute> {
  const math =
    cfg.math_workers > 0
      ? pooledMathRoute(
          new MathPool({ workers: cfg.math_workers, timeoutMs: cfg.math_timeout_ms, maxHeapMb: cfg.math_max_heap_mb }),
        )
      : mathRoute;
  const routes: Record<string, RewardRoute> = { math, world: worldRoute };
  if (cfg.safety) {
    const s = cfg.safety,
      e = s.endpoint;
    const grader = ENDPOINT_GRADERS[s.grader]!.make(
      judgeEndpoint(e),
      e.chat_template ? loadChatTemplate(e.chat_template) : undefined,
    );
    const binary = s.mode === "binary";
    routes["safety"] = judgeRoute(
      "safety",
      `${s.grader} guard, ${s.mode}: reward = P(safe)`,
      grader,
      e.url,
      e.concurrency,
      (g) => (binary ? (g["safe"] === true ? 1 : 0) : g.score),
    );
  }
  if (cfg.over_refusal) {
    const e = cfg.over_refusal.endpoint;
    const grader = ENDPOINT_GRADERS["rubric"]!.make(
      judgeEndpoint(e),
      e.chat_template ? loadChatTemplate(e.chat_template) : undefined,
    );
    routes["over_refusal"] = judgeRoute(
      "over_refusal",
      "rubric judge: helpfulness 0 / 0.5 / 1",
      grader,
      e.url,
      e.concurrency,
      (g) => g.score,
    );
  }
  return routes;
}

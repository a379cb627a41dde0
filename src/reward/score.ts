// Scoring a batch of rollouts: every label is read and checked against its route before any
// judge is called (a bad item fails the request with 400, not half-way through), then the items
// are scored concurrently (the judge routes share their endpoint's concurrency limit). Each
// result has the reward (what the trainer's advantages use) and the filter score (what
// OpenRLHF's dynamic filtering reads; see `scores` in config.ts).
import type { RewardServerConfig } from "./config.ts";
import { LabelError, parseLabel } from "./labels.ts";
import type { ParsedLabel } from "./labels.ts";
import { splitRollout } from "./response.ts";
import type { ResponseOptions } from "./response.ts";
import type { RewardRoute, RouteInput, RouteOutput } from "./routes.ts";
import { RouteInputError, scoreWith } from "./routes.ts";

export interface RolloutItem {
  /** The rollout text: OpenRLHF's query (prompt + generated) or the generated text alone. */
  query: string;
  /** The prompt text (removed from the start of `query` when it is there). */
  prompt?: string;
  /** The user's request as plain text (judges read it when the label has no `prompt`). */
  userPrompt?: string;
  label: unknown;
  /** Overrides the label's datasource (verl passes data_source separately). */
  datasource?: string;
}

export interface RewardResult {
  reward: number;
  /** The dynamic-filtering score (RECAP mapping or the reward itself). */
  score: number;
  route: string;
  /** Why the reward is 0 without a judge (e.g. the thinking never closed). */
  reason?: string;
  details?: Record<string, unknown>;
}

/** A request the server refuses (HTTP 400), naming the item. */
export class BadItemError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
    this.name = "BadItemError";
  }
}

interface Prepared {
  item: RolloutItem;
  label: ParsedLabel;
  route: RewardRoute;
}

export class RewardScorer {
  readonly responseOptions: ResponseOptions;

  constructor(
    readonly cfg: RewardServerConfig,
    readonly routes: Readonly<Record<string, RewardRoute>>,
  ) {
    this.responseOptions = { thinkEnd: cfg.think_end, requireThink: cfg.require_think, eosStrings: cfg.eos_strings };
  }

  /** The filter score of a reward: RECAP's rule expressed for OpenRLHF's 0 < mean < 1 filter. */
  filterScore(reward: number): number {
    return this.cfg.scores === "recap" && reward > this.cfg.tau ? 1 : reward;
  }

  private prepare(item: RolloutItem, i: number): Prepared {
    let label: ParsedLabel;
    try {
      label = parseLabel(item.label, this.cfg.default_route, this.cfg.aliases, `label ${i}`);
      if (item.datasource !== undefined)
        label = { ...label, datasource: item.datasource, route: this.cfg.aliases[item.datasource] ?? item.datasource };
      const route = this.routes[label.route];
      if (!route)
        throw new RouteInputError(
          `unknown datasource "${label.datasource}": routes here are ${Object.keys(this.routes).join(", ")} (add an alias, or a safety / over_refusal section to the config)`,
        );
      route.check?.(label);
      return { item, label, route };
    } catch (e) {
      if (e instanceof LabelError || e instanceof RouteInputError) {
        const empty = item.label === null || item.label === undefined || item.label === "";
        throw new BadItemError(
          i,
          `item ${i}: ${e.message}${empty ? " (the label is empty: give OpenRLHF --label_key label, as `recap data build` writes it)" : ""}`,
        );
      }
      throw e;
    }
  }

  /** The route's input, or the result of a rollout that has no response to score. */
  private input(p: Prepared, group: object): RouteInput | RewardResult {
    const split = splitRollout(p.item.query, p.item.prompt, this.responseOptions);
    if (split.response === null) return { reward: 0, score: 0, route: p.route.name, reason: split.reason! };
    const userPrompt = p.label.prompt ?? p.item.userPrompt ?? p.item.prompt ?? "";
    return { label: p.label, response: split.response, generated: split.generated, userPrompt, group };
  }

  private result(route: RewardRoute, out: RouteOutput): RewardResult {
    return { reward: out.reward, score: this.filterScore(out.reward), route: route.name, details: out.details };
  }

  /** Scores every item (results in input order): item by item, concurrently, except on routes that
   *  score in batches (an in-process model), which get one call with all their items of the request.
   *  Throws BadItemError or UpstreamError. */
  async scoreAll(items: readonly RolloutItem[]): Promise<RewardResult[]> {
    const prepared = items.map((it, i) => this.prepare(it, i));
    const group = {}; // this request's items take turns with other requests' on shared workers
    const results = new Array<RewardResult>(prepared.length);
    const batched = new Map<RewardRoute, { at: number; input: RouteInput }[]>();
    const single: Promise<void>[] = [];
    prepared.forEach((p, at) => {
      const x = this.input(p, group);
      if (!("label" in x)) results[at] = x;
      else if (p.route.scoreMany) {
        const xs = batched.get(p.route);
        if (xs) xs.push({ at, input: x });
        else batched.set(p.route, [{ at, input: x }]);
      } else single.push((async () => void (results[at] = this.result(p.route, await p.route.score(x))))());
    });
    const calls = [...batched].map(async ([route, xs]) => {
      const out = await scoreWith(
        route,
        xs.map((x) => x.input),
      );
      xs.forEach((x, k) => {
        results[x.at] = this.result(route, out[k]!);
      });
    });
    await Promise.all([...single, ...calls]); // every call awaited together: a failing one leaves none unhandled
    return results;
  }
}

// Finding a grader by name for `recap eval` (and any other caller): the plain registry
// (index.ts: XSTest string match, the world judge, the math verifier) and the endpoint graders
// (which need a judge endpoint). An unknown name lists them all; an endpoint grader without an endpoint says which
// flags to give.
import { loadChatTemplate } from "../lm/templates.ts";
import { RecapError } from "../util/errors.ts";
import type { JudgeEndpoint } from "./endpoint.ts";
import { JudgeEndpointSchema } from "./endpoint.ts";
import { ENDPOINT_GRADERS } from "./endpoint_graders.ts";
import { GRADERS } from "./index.ts";
import { mathGrader } from "./math.ts";
import type { Grader } from "./types.ts";
import { worldGrader } from "./world.ts";
import { zodIssues } from "../util/zod_issues.ts";

const LOCAL: Readonly<Record<string, Grader>> = {
  ...GRADERS,
  [worldGrader.id]: worldGrader,
  [mathGrader.id]: mathGrader,
};

export interface JudgeChoice {
  url?: string;
  model?: string;
  api?: "chat" | "completions";
  /** The judge's chat template (completions API only). */
  template?: string;
  extraBody?: Record<string, unknown>;
  http?: JudgeEndpoint["http"];
}

/** Every grader name with a one-line description. */
export function allGraders(): { name: string; description: string; needsEndpoint: boolean }[] {
  return [
    ...Object.entries(LOCAL).map(([name, g]) => ({ name, description: g.description ?? "", needsEndpoint: false })),
    ...Object.entries(ENDPOINT_GRADERS).map(([name, k]) => ({ name, description: k.description, needsEndpoint: true })),
  ];
}

/** The grader called `name`, made with the judge endpoint when it needs one. */
export function resolveGrader(name: string, judge: JudgeChoice = {}): Grader {
  const local = LOCAL[name];
  if (local) return local;
  const kind = ENDPOINT_GRADERS[name];
  if (!kind)
    throw new RecapError(
      `unknown grader "${name}"`,
      `graders: ${allGraders()
        .map((g) => g.name)
        .join(", ")}`,
    );
  if (!judge.url || !judge.model)
    throw new RecapError(`grader "${name}" needs a judge endpoint`, "give --judge-url URL and --judge-model NAME");
  const parsed = JudgeEndpointSchema.safeParse({
    url: judge.url,
    model: judge.model,
    ...(judge.api ? { api: judge.api } : {}),
    ...(judge.extraBody ? { extraBody: judge.extraBody } : {}),
    ...(judge.http ? { http: judge.http } : {}),
  });
  if (!parsed.success) throw new RecapError(`judge endpoint: ${zodIssues(parsed.error, "")}`);
  if (parsed.data.api === "completions" && !judge.template)
    throw new RecapError("--judge-api completions needs --judge-template FILE (the judge's chat template)");
  return kind.make(parsed.data, judge.template ? loadChatTemplate(judge.template) : undefined);
}

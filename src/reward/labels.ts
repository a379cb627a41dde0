// Reward labels: what the trainer passes beside each rollout (OpenRLHF `labels` from
// `--label_key`, verl `reward_model.ground_truth`, TRL's `label` column). A label is either
//   - a plain string: the answer for the default route (e.g. a GSM8K number for `math`), or
//   - a JSON object in a string, `{"datasource": "math", "answer": "\\frac{1}{2}"}`: the route
//     named by `datasource` (through the configured aliases), with any other fields the route
//     reads (`prompt`: the user's request, for the judges; the world's `label`, `action`,
//     `object`, `answer`, `source`). `recap data build` writes labels of this form.
// A missing label (null) goes to the default route without an answer. A label that starts with
// "{" but is not a JSON object is a client error, not a plain answer.

export interface ParsedLabel {
  /** The route name (after aliases). */
  route: string;
  /** The datasource as written in the label (before aliases). */
  datasource: string;
  /** The gold answer, when the label has one. */
  answer?: string;
  /** The user's request, when the label carries it (judges read it). */
  prompt?: string;
  /** Every field of a JSON label. */
  fields: Record<string, unknown>;
}

/** A label the server cannot read: answered with HTTP 400. */
export class LabelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabelError";
  }
}

function answerOf(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw new LabelError(`${where}: "answer" must be a string or a number`);
}

function fromObject(
  o: Record<string, unknown>,
  defaultRoute: string,
  aliases: Readonly<Record<string, string>>,
  where: string,
): ParsedLabel {
  const ds = o["datasource"] ?? o["data_source"];
  if (ds !== undefined && (typeof ds !== "string" || ds === ""))
    throw new LabelError(`${where}: "datasource" must be a non-empty string`);
  const datasource = (ds as string | undefined) ?? defaultRoute;
  const prompt = o["prompt"];
  if (prompt !== undefined && typeof prompt !== "string") throw new LabelError(`${where}: "prompt" must be a string`);
  const answer = answerOf(o["answer"], where);
  return {
    route: aliases[datasource] ?? datasource,
    datasource,
    fields: o,
    ...(answer !== undefined ? { answer } : {}),
    ...(prompt !== undefined ? { prompt } : {}),
  };
}

/** Reads one label (a string, a JSON string, an object, or null). Throws LabelError. */
export function parseLabel(
  label: unknown,
  defaultRoute: string,
  aliases: Readonly<Record<string, string>> = {},
  where = "label",
): ParsedLabel {
  if (label === undefined || label === null)
    return { route: aliases[defaultRoute] ?? defaultRoute, datasource: defaultRoute, fields: {} };
  if (typeof label === "object" && !Array.isArray(label))
    return fromObject(label as Record<string, unknown>, defaultRoute, aliases, where);
  if (typeof label === "number" && Number.isFinite(label))
    return parseLabel(String(label), defaultRoute, aliases, where);
  if (typeof label !== "string")
    throw new LabelError(
      `${where} must be a string (or a JSON object in a string), got ${Array.isArray(label) ? "an array" : typeof label}`,
    );
  if (label.trimStart().startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(label);
    } catch (e) {
      throw new LabelError(`${where} starts with "{" but is not valid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new LabelError(`${where} must be a JSON object`);
    return fromObject(v as Record<string, unknown>, defaultRoute, aliases, where);
  }
  return { route: aliases[defaultRoute] ?? defaultRoute, datasource: defaultRoute, answer: label, fields: {} };
}

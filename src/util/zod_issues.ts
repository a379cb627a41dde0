// Turning a zod validation error into the one line a RecapError (or an API error) carries. Every
// config reader, row reader and request parser of the project goes through these two.
import type { z } from "zod";

/** A field path as dots ("objective.loss.eps"), or `root` for the value itself. */
export function fieldPath(path: readonly PropertyKey[], root: string): string {
  return path.length > 0 ? path.map(String).join(".") : root;
}

/** Every issue as "path: message", joined by "; "; `root` names the value itself. */
export function zodIssues(error: z.ZodError, root = "(root)"): string {
  return error.issues.map((i) => `${fieldPath(i.path, root)}: ${i.message}`).join("; ");
}

/** The first issue, for one-problem-at-a-time messages: the zod issue and its path. */
export function firstZodIssue(error: z.ZodError, root = ""): { issue: z.core.$ZodIssue; path: string } {
  const issue = error.issues[0]!;
  return { issue, path: fieldPath(issue.path, root) };
}

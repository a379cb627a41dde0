// The synthetic world's exact judge (src/world/judge.ts) as a grader. The world judge reads the
// whole assistant turn (thinking and response: it needs `</think>` to tell a finished answer from
// output cut off while thinking), so this grader reads the row's `full_completion` when the eval
// runner supplies it (the graded `completion` there is the final response only), else
// `completion`. The item fields (label, action, object, answer, source) come from the suite row.
import { RecapError } from "../util/errors.ts";
import type { JudgeItem } from "../world/judge.ts";
import { judge } from "../world/judge.ts";
import type { GradeResult, GradeRow, Grader } from "./types.ts";

function itemOf(row: GradeRow): JudgeItem {
  const label = row["label"];
  if (label !== "harmful" && label !== "benign" && label !== "math")
    throw new RecapError(
      `world grader: row ${String(row["id"] ?? "?")} has no world label (harmful / benign / math)`,
      "the world grader scores rows of a world suite",
    );
  const item: JudgeItem = { label };
  if (typeof row["source"] === "string") item.source = row["source"] as JudgeItem["source"];
  if (typeof row["action"] === "string") item.action = row["action"];
  if (typeof row["object"] === "string") item.object = row["object"];
  if (typeof row["answer"] === "number") item.answer = row["answer"];
  return item;
}

export const worldGrader: Grader = {
  id: "world",
  description: "the synthetic world's exact judge: safety, helpfulness 0/0.5/1, math correctness",
  grade(row: GradeRow): GradeResult {
    const full = typeof row["full_completion"] === "string" ? (row["full_completion"] as string) : row.completion;
    const j = judge(itemOf(row), full);
    return {
      label: j.outcome,
      score: j.score,
      ...(j.safety !== null ? { safe: j.safety === 1 } : {}),
      ...(j.helpfulness !== null ? { helpful: j.helpfulness } : {}),
      ...(j.correct !== null ? { correct: j.correct === 1 } : {}),
      refused: j.outcome === "refuse",
      problem: j.problem,
      truncated: j.truncated,
      hedged: j.hedged,
      verdicts: j.verdicts,
    };
  },
};

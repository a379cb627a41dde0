// The verifiable math reward as a grader: src/graders/math_verify.ts `verify(completion, gold)`
// (the same check the RL reward uses) on the final response. The gold answer is the row's `gold`
// (the benchmark loaders' final answer), else its `answer` (a number in the world's math suite,
// or a GSM8K solution whose `#### N` line the verifier reads).
import { verify } from "./math_verify.ts";
import type { GradeResult, GradeRow, Grader } from "./types.ts";
import { RecapError } from "../util/errors.ts";

function goldOf(row: GradeRow): string | undefined {
  for (const k of ["gold", "answer"]) {
    const v = row[k];
    if (typeof v === "string" && v.trim() !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
  }
  return undefined;
}

export const mathGrader: Grader = {
  id: "math",
  description: "verifiable math answer check (the RL math reward): 1 if the final answer equals the gold one",
  grade(row: GradeRow): GradeResult {
    const gold = goldOf(row);
    if (gold === undefined)
      throw new RecapError(
        `math grader: row ${String(row["id"] ?? "?")} has no gold answer`,
        'give each math row a "gold" or "answer" field',
      );
    const v = verify(row.completion, gold);
    return {
      label: v.correct ? "correct" : "incorrect",
      score: v.correct ? 1 : 0,
      correct: v.correct,
      extracted: v.extracted,
      method: v.method,
      ...(v.reason ? { reason: v.reason } : {}),
    };
  },
};

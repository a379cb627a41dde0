// The grader contract: `{ id, grade(row) }`. A row is at least a prompt and a completion (other
// fields such as `id` or a gold answer ride along); a result is at least a `label` (string) and a
// `score` (number: 1 for the desired behaviour, 0 for the undesired, fractions where a grader has
// them), plus whatever the grader explains itself with. grade may be async (endpoint judges).
export interface GradeRow {
  prompt: string;
  completion: string;
  [field: string]: unknown;
}

export interface GradeResult {
  label: string;
  score: number;
  [field: string]: unknown;
}

export interface Grader {
  id: string;
  /** One line for listings. */
  description?: string;
  grade(row: GradeRow): GradeResult | Promise<GradeResult>;
  /** The binary score a label stands for (also labels of human references the grader never
   * outputs, e.g. XSTest's 3_partial_refusal -> 0), or null for an unknown label. Optional. */
  scoreOfLabel?(label: string): number | null;
}

// RecapError: the one error type for user-facing failures (bad files, bad flags). The CLI prints
// it as `error: <message>` followed by `hint: <hint>` when a hint is given; anything else is a bug.

export class RecapError extends Error {
  /** A short suggestion of how to fix the problem, printed on its own line. */
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = "RecapError";
    this.hint = hint;
  }
}

export function isRecapError(e: unknown): e is RecapError {
  return e instanceof RecapError;
}

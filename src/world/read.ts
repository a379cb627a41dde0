// Reading one JSONL file of a world build (rl/prompts.jsonl, a suite, a corpus) into its rows:
// a missing file names the build command, a bad line names its line. Shared by the RL trainer's
// prompt loading and the guard's data.
import * as fs from "node:fs";
import { RecapError } from "../util/errors.ts";

export function readWorldJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file))
    throw new RecapError(`${file} not found`, "build the world first: recap world build --seed 1 --out <dir>");
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new RecapError(`${file}:${i + 1}: not valid JSON`);
      }
    });
}

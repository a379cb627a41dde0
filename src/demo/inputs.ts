// The world and base a `recap train` preset names, made ready from a fresh clone: a world folder
// without rl/prompts.jsonl is built (seed `world_seed`, default 1) and `base: shipped` resolves to
// the shipped base of the current world version and that seed (models/), after checking that it
// was trained on exactly this world's base corpus. A world folder of another version is refused
// rather than overwritten.
import * as fs from "node:fs";
import * as path from "node:path";
import type { TrainConfig } from "../train/rl_config.ts";
import { RecapError } from "../util/errors.ts";
import { buildWorld } from "../world/build.ts";
import { parseWorldConfig } from "../world/config.ts";
import { WORLD_VERSION } from "../world/lexicon.ts";
import { writeWorld } from "../world/write.ts";
import { REPO_ROOT, shippedBaseDir, shippedMismatch } from "./shipped.ts";

/** The config with `world` built if missing and `base: shipped` resolved (absolute paths). */
export async function prepareTrainInputs(
  c: TrainConfig,
  configDir: string,
  log: (line: string) => void,
): Promise<TrainConfig> {
  const seed = c.world_seed ?? 1;
  const world = path.resolve(configDir, c.world);
  const manifest = path.join(world, "manifest.json");
  if (!fs.existsSync(path.join(world, "rl", "prompts.jsonl"))) {
    if (fs.existsSync(world) && fs.readdirSync(world).length > 0)
      throw new RecapError(
        `world folder ${world} has no rl/prompts.jsonl and is not empty`,
        "point `world` at a world build, or at a missing or empty folder to build one there",
      );
    log(`building the world (${WORLD_VERSION}, seed ${seed}) in ${world}`);
    await writeWorld(world, buildWorld(seed, parseWorldConfig({})));
  } else if (fs.existsSync(manifest)) {
    const m = JSON.parse(fs.readFileSync(manifest, "utf8")) as { world_version?: string; seed?: number };
    if (m.world_version !== WORLD_VERSION)
      throw new RecapError(
        `world ${world} is ${m.world_version}, this build is ${WORLD_VERSION}`,
        `rebuild it: recap world build --seed ${m.seed ?? seed} --out ${world}`,
      );
  }
  if (c.base !== "shipped") return { ...c, world };
  const dir = shippedBaseDir(seed);
  const why = shippedMismatch(dir, world);
  if (why !== undefined)
    throw new RecapError(
      `base: shipped cannot be used: ${why}`,
      `train the base (recap sft --config configs/world-base.yaml) and set base to its checkpoint, or regenerate the shipped one (npm run base:regenerate)`,
    );
  log(`base: the shipped ${path.relative(REPO_ROOT, dir)}`);
  return { ...c, world, base: dir };
}

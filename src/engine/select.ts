// Kernel selection: the implementation every model op runs on, chosen once at start-up from the
// CLI flag `--kernels`, else the RECAP_KERNELS environment variable, else the default. Reported in
// every run's metadata. Only the plain-TypeScript reference exists so far; fast implementations
// register here.
import type { Kernels } from "./kernels.ts";
import { refKernels } from "./ref.ts";

const REGISTRY: Record<string, () => Kernels> = {
  ref: () => refKernels,
};

export const KERNEL_NAMES = Object.keys(REGISTRY);
export const DEFAULT_KERNELS = "ref";

/** The kernels named by `name`, or by RECAP_KERNELS, or the default. */
export function selectKernels(name?: string): Kernels {
  const chosen = name ?? process.env["RECAP_KERNELS"] ?? DEFAULT_KERNELS;
  const make = REGISTRY[chosen];
  if (!make) throw new Error(`unknown kernels "${chosen}": valid kernels are ${KERNEL_NAMES.join(", ")}`);
  return make();
}

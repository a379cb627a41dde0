// The math verifier's worker thread (src/graders/math_pool.ts): loads the TypeScript sources
// through tsx whatever the parent was started with, then answers {id, completion, gold, opts}
// messages with {id, verdict}. The pool terminates this thread when a verdict is late.
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { verify } = await import("./math_verify.ts");
parentPort.on("message", (m) => {
  let verdict;
  try {
    verdict = verify(m.completion, m.gold, m.opts);
  } catch (e) {
    verdict = {
      correct: false,
      extracted: null,
      strategy: null,
      method: "none",
      reason: `verifier failed: ${String(e?.message ?? e).slice(0, 200)}`,
    };
  }
  parentPort.postMessage({ id: m.id, verdict });
});
verify("\\boxed{\\frac{1}{2}}", "0.5"); // warm the compute engine: a deadline measures verification, not start-up
parentPort.postMessage({ ready: true });

// The policy's prompt for one training item: the chat rendered up to the assistant turn, then
// the prefill (if any) as the start of that turn, and the two as separate token lists, so the
// rollout's row layout (src/rl/layout.ts: prompt, prefill, generated) is known exactly. A prefill
// is thinking text, as everywhere in the project (training, `recap data build`, evaluation); the
// opener (`open`, "<think>" in our template) is added here, where the turn is rendered.
// With our template the assistant marker is a special token, and the tokenizer cuts special
// tokens out before anything else, so encode(prompt + prefill) = encode(prompt) ++
// encode(prefill); encodePolicyPrompt checks this and refuses a template where it fails.
import { type ChatMessage, renderChat } from "../model/chat_template.ts";
import type { Tokenizer } from "../model/tokenizer.ts";
import { RecapError } from "../util/errors.ts";

/** The thinking opener of our chat template (recap.think_open's default). */
export const THINK_OPEN = "<think>";

/** The conversation for a prompt: [system?, user] and, when prefilled, the partial assistant turn
 *  (the opener, then the prefilled thinking). */
export function policyMessages(
  prompt: string,
  thinking: string | null,
  system?: string,
  open: string = THINK_OPEN,
): ChatMessage[] {
  const msgs: ChatMessage[] = system !== undefined ? [{ role: "system", content: system }] : [];
  msgs.push({ role: "user", content: prompt });
  if (thinking !== null) msgs.push({ role: "assistant", content: open + thinking });
  return msgs;
}

/** The text the policy continues: the generation prompt, or the chat cut after the prefill. */
export function renderPolicyPrompt(
  prompt: string,
  thinking: string | null,
  system?: string,
  open: string = THINK_OPEN,
): string {
  const msgs = policyMessages(prompt, thinking, system, open);
  return thinking === null
    ? renderChat(msgs, { addGenerationPrompt: true })
    : renderChat(msgs, { continueFinalMessage: true });
}

export interface PolicyPromptIds {
  promptIds: number[]; // the rendered chat up to and including the assistant marker
  prefillIds: number[]; // the turn's start: the opener and the prefilled thinking ([] without a prefill)
}

/** Token ids of the prompt and of the prefilled turn start, checked to concatenate to the full
 *  rendering. `thinking` "" opens the thinking without prefilling it. */
export function encodePolicyPrompt(
  tok: Tokenizer,
  prompt: string,
  thinking: string | null,
  system?: string,
  open: string = THINK_OPEN,
): PolicyPromptIds {
  const promptIds = tok.encode(renderPolicyPrompt(prompt, null, system)); // (P)
  if (thinking === null) return { promptIds, prefillIds: [] };
  const prefillIds = tok.encode(open + thinking); // (F)
  const full = tok.encode(renderPolicyPrompt(prompt, thinking, system, open)); // (P + F) if all is well
  const same =
    full.length === promptIds.length + prefillIds.length &&
    full.every((id, i) => id === (i < promptIds.length ? promptIds[i] : prefillIds[i - promptIds.length]));
  if (!same)
    throw new RecapError(
      "the prompt and the prefill do not tokenize separately under this chat template",
      "the generation prompt must end with a special token (e.g. <|assistant|>)",
    );
  return { promptIds, prefillIds };
}

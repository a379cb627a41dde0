// The model's chat template (a Jinja string for tokenizer_config.json, rendered here with
// @huggingface/jinja) and the tokenizer_config.json object.
//
// Format, with no separators or newlines of its own:
//   system    -> "<|system|>" + content
//   user      -> "<|user|>" + content
//   assistant -> "<|assistant|>" + content + "<eos>"
//   add_generation_prompt appends "<|assistant|>"; any other role raises in the template itself.
// Example: [user "hi", assistant "<think>ok</think>fine"] renders
//   "<|user|>hi<|assistant|><think>ok</think>fine<eos>".
// continueFinalMessage renders the conversation and cuts it right after the final (assistant)
// message's content, as transformers' continue_final_message does, so generation continues a
// prefilled answer: [user "hi", assistant "<think>ok"] -> "<|user|>hi<|assistant|><think>ok".
import { Template } from "@huggingface/jinja";
import type { Tokenizer } from "./tokenizer.ts";

export interface ChatMessage {
  /** "system", "user" or "assistant"; the template raises on anything else. */
  role: string;
  content: string;
}

export interface RenderChatOptions {
  /** Append "<|assistant|>" so the model writes the next assistant turn. */
  addGenerationPrompt?: boolean;
  /** The last message is an assistant prefill: end the text at its content, without "<eos>". */
  continueFinalMessage?: boolean;
}

const EOS = "<eos>";

export const CHAT_TEMPLATE =
  "{%- for message in messages -%}" +
  "{%- if message['role'] == 'system' -%}{{ '<|system|>' + message['content'] }}" +
  "{%- elif message['role'] == 'user' -%}{{ '<|user|>' + message['content'] }}" +
  "{%- elif message['role'] == 'assistant' -%}{{ '<|assistant|>' + message['content'] + '<eos>' }}" +
  "{%- else -%}{{ raise_exception('Unknown role: ' + message['role']) }}" +
  "{%- endif -%}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{ '<|assistant|>' }}{%- endif -%}";

let compiled: Template | null = null;

/** Renders messages with CHAT_TEMPLATE (the template raises on an unknown role). */
export function renderChat(messages: readonly ChatMessage[], opts: RenderChatOptions = {}): string {
  const addGenerationPrompt = opts.addGenerationPrompt ?? false;
  if (!opts.continueFinalMessage) return render(messages, addGenerationPrompt);
  if (addGenerationPrompt)
    throw new Error("renderChat: addGenerationPrompt and continueFinalMessage cannot both be set");
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "assistant")
    throw new Error(
      `renderChat: continueFinalMessage needs a final assistant message, got ${last ? `role "${last.role}"` : "no messages"}`,
    );
  const full = render(messages, false);
  // Cut after the last occurrence of the content that ends before the turn's closing <eos>, so
  // a content that also occurs inside "<eos>" itself (e.g. "s" or ">"), or is empty, is cut in
  // the right place (transformers' plain rindex gets those wrong).
  const limit = full.endsWith(EOS) ? full.length - EOS.length - last.content.length : full.length;
  const at = full.lastIndexOf(last.content, limit);
  if (at < 0) throw new Error("renderChat: the final message's content does not appear in the rendered chat");
  return full.slice(0, at + last.content.length);
}

function render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  compiled ??= new Template(CHAT_TEMPLATE);
  return compiled.render({
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    add_generation_prompt: addGenerationPrompt,
    eos_token: EOS,
    bos_token: "",
  });
}

/**
 * The HF tokenizer_config.json object for a tokenizer (added tokens, chat template, roles).
 * modelMaxLength: the longest input the model takes (the config's max_position_embeddings).
 */
export function tokenizerConfig(tok: Tokenizer, modelMaxLength = 256): Record<string, unknown> {
  const added: Record<string, unknown> = {};
  for (let id = 0; id < tok.vocabSize; id++) {
    if (!tok.isSpecial(id)) continue;
    added[String(id)] = {
      content: tok.idToToken(id),
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    added_tokens_decoder: added,
    bos_token: null,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: EOS,
    model_max_length: modelMaxLength,
    pad_token: "<pad>",
    tokenizer_class: "PreTrainedTokenizerFast",
  };
}

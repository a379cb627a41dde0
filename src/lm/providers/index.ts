// Building a provider from the command-line choice: an embedded checkpoint folder, a GGUF file
// (node-llama-cpp), or an OpenAI-compatible endpoint speaking text completions or chat.
import { loadModel } from "../../model/load.ts";
import type { ChatTemplate } from "../templates.ts";
import { loadChatTemplate } from "../templates.ts";
import { RecapError } from "../../util/errors.ts";
import type { Provider } from "../types.ts";
import { EmbeddedProvider } from "./embedded.ts";
import type { HttpOptions } from "./http.ts";
import { LlamaCppProvider } from "./llama_cpp.ts";
import { ChatProvider } from "./openai_chat.ts";
import { CompletionsProvider } from "./openai_completions.ts";

export type { Provider };
export { ChatProvider, CompletionsProvider, EmbeddedProvider, LlamaCppProvider };

export interface ProviderChoice {
  /** A checkpoint folder (embedded) or a .gguf file (node-llama-cpp). */
  model?: string;
  /** An OpenAI-compatible server. */
  endpoint?: string;
  modelName?: string;
  api?: "chat" | "completions";
  /** The model's chat template file (tokenizer_config.json or .jinja). */
  chatTemplate?: string;
  templateExtra?: Record<string, unknown>;
  logprobs?: boolean;
  kernels?: string;
  batchRows?: number;
  http: HttpOptions;
}

/** Opens the provider the flags describe; every misuse is a RecapError naming the flag. */
export async function openProvider(c: ProviderChoice): Promise<Provider> {
  if ((c.model === undefined) === (c.endpoint === undefined))
    throw new RecapError("give exactly one of --model (a checkpoint folder or .gguf file) or --endpoint URL");
  const template: ChatTemplate | undefined =
    c.chatTemplate !== undefined ? loadChatTemplate(c.chatTemplate) : undefined;
  if (c.model !== undefined) {
    if (c.model.endsWith(".gguf"))
      return LlamaCppProvider.open({ modelPath: c.model, ...(template ? { template } : {}) });
    if (template)
      throw new RecapError(
        "--chat-template applies to endpoints and GGUF files; a checkpoint folder uses its own template",
      );
    const { model, tokenizer } = await loadModel(c.model, c.kernels);
    return new EmbeddedProvider(model, tokenizer, {
      name: c.model,
      ...(c.batchRows ? { batchRows: c.batchRows } : {}),
    });
  }
  if (!c.modelName) throw new RecapError("--endpoint needs --model-name (the served model's name)");
  if (!/^https?:\/\//.test(c.endpoint!)) throw new RecapError(`--endpoint must be an http(s) URL, got "${c.endpoint}"`);
  const api = c.api ?? (template ? "completions" : "chat");
  if (api === "completions") {
    if (!template)
      throw new RecapError(
        "--api completions needs --chat-template FILE (the model's own template renders the prompt)",
      );
    return new CompletionsProvider({
      baseUrl: c.endpoint!,
      model: c.modelName,
      template,
      http: c.http,
      ...(c.templateExtra ? { templateExtra: c.templateExtra } : {}),
      ...(c.logprobs ? { logprobs: true } : {}),
    });
  }
  return new ChatProvider({
    baseUrl: c.endpoint!,
    model: c.modelName,
    http: c.http,
    ...(c.logprobs ? { logprobs: true } : {}),
  });
}

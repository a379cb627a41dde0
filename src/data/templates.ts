// Real models' chat templates (HF `tokenizer_config.json` or a `.jinja` file), rendered with
// @huggingface/jinja, and the prompts RECAP needs: a conversation ending in a generation prompt,
// and a prefilled prompt that ends exactly inside the assistant's thinking.
//
// Prefill placement. Templates differ in whether their generation prompt already opens the
// thinking (later DeepSeek-R1-distill revisions end with `<｜Assistant｜><think>\n`; the January
// 2025 revision and Qwen3 do not). `renderPrefilled` renders the generation prompt and adds
// `<think>\n` only when the template has not opened it, so the tag appears exactly once.
// This differs from HF `continue_final_message` (render a final assistant message, cut after its
// content): some templates rewrite assistant content (DeepSeek keeps only the text after
// `</think>`; Qwen3 moves reasoning into its own block), so a prefill that contains `</think>`
// (a full CoT hijack) would be dropped or moved. `renderContinueFinal` is provided too, for
// comparing with servers that do it the HF way.
import * as fs from "node:fs";
import * as path from "node:path";
import { Template } from "@huggingface/jinja";
import { RecapError } from "../util/errors.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplate {
  source: string; // file it came from
  template: string; // Jinja source
  bosToken: string;
  eosToken: string;
  compiled: Template;
}

export interface RenderOptions {
  /** Extra template variables, e.g. `{ enable_thinking: true }` for Qwen3. */
  extra?: Record<string, unknown>;
}

/** Token strings in tokenizer_config.json are plain strings or AddedToken objects. */
function tokenString(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return "";
}

/** Loads a template from a tokenizer_config.json, a .jinja file, or a folder holding either. */
export function loadChatTemplate(file: string, name = "default"): ChatTemplate {
  let target = file;
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    const cfg = path.join(file, "tokenizer_config.json");
    const jinja = path.join(file, "chat_template.jinja");
    target = fs.existsSync(cfg) ? cfg : jinja;
  }
  let text: string;
  try {
    text = fs.readFileSync(target, "utf8");
  } catch {
    throw new RecapError(`cannot read chat template ${target}`, "pass a tokenizer_config.json, a .jinja file, or a model folder holding one");
  }
  if (!target.endsWith(".json")) return compile(target, text, "", "");
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new RecapError(`${target} is not valid JSON`);
  }
  let tpl = cfg["chat_template"];
  if (Array.isArray(tpl)) tpl = (tpl as { name?: string; template?: string }[]).find((t) => t.name === name)?.template;
  if (typeof tpl !== "string")
    throw new RecapError(`${target} has no chat_template${name !== "default" ? ` named "${name}"` : ""}`, "point to the model's tokenizer_config.json or a .jinja file");
  return compile(target, tpl, tokenString(cfg["bos_token"]), tokenString(cfg["eos_token"]));
}

function compile(source: string, template: string, bosToken: string, eosToken: string): ChatTemplate {
  try {
    return { source, template, bosToken, eosToken, compiled: new Template(template) };
  } catch (e) {
    throw new RecapError(`${source}: the chat template does not parse: ${(e as Error).message}`);
  }
}

/** Renders messages; with addGenerationPrompt the text ends where the assistant starts. */
export function renderMessages(t: ChatTemplate, messages: ChatMessage[], addGenerationPrompt: boolean, o: RenderOptions = {}): string {
  try {
    return t.compiled.render({
      messages, add_generation_prompt: addGenerationPrompt, bos_token: t.bosToken, eos_token: t.eosToken, ...o.extra,
    });
  } catch (e) {
    throw new RecapError(`${t.source}: rendering failed: ${(e as Error).message}`);
  }
}

/** The generation prompt ends with an opened thinking block (`<think>` + optional newline). */
export function opensThinking(rendered: string): boolean {
  return /<think>\n?$/.test(rendered);
}

/** A prompt that ends inside the assistant's thinking, right after `thinking` (a prefill).
 *  With closeThinking the thinking is closed (`\n</think>\n\n`): a full CoT hijack, after which
 *  the model writes only the response. Send the result as a raw completion prompt. */
export function renderPrefilled(
  t: ChatTemplate, messages: ChatMessage[], thinking: string, o: RenderOptions & { closeThinking?: boolean } = {},
): string {
  if (thinking.includes("</think>")) throw new RecapError("a prefill must not contain </think>: use closeThinking for a full hijack");
  const gen = renderMessages(t, messages, true, o);
  if (/<\/think>\s*$/.test(gen))
    throw new RecapError(`${t.source}: the generation prompt already closes the thinking (thinking disabled?)`, "enable thinking, e.g. extra { enable_thinking: true } for Qwen3");
  const open = opensThinking(gen) ? "" : "<think>\n";
  return gen + open + thinking + (o.closeThinking ? "\n</think>\n\n" : "");
}

/** HF `continue_final_message`: render with a final assistant message holding `content` and cut
 *  right after that content (the template's own end-of-turn is dropped). Throws if the template
 *  rewrote the content so that it no longer appears verbatim. */
export function renderContinueFinal(t: ChatTemplate, messages: ChatMessage[], content: string, o: RenderOptions = {}): string {
  const full = renderMessages(t, [...messages, { role: "assistant", content }], false, o);
  const trimmed = content.trimEnd();
  const at = full.lastIndexOf(trimmed);
  if (trimmed.length === 0 || at < 0)
    throw new RecapError(`${t.source}: the template rewrote the final assistant message, so it cannot be continued`, "use a raw completion prompt (renderPrefilled)");
  return full.slice(0, at + trimmed.length);
}

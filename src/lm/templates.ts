// Real models' chat templates, rendered with @huggingface/jinja, and the prompts RECAP needs: a
// conversation ending in a generation prompt, and a prefilled prompt that ends exactly inside the
// assistant's thinking.
//
// Where a template comes from (`loadChatTemplate`): a model folder, a `tokenizer_config.json` or a
// `.jinja` file. The special tokens a template renders (`bos_token`, `eos_token`, ...) always come
// from the `tokenizer_config.json` of that folder / beside that file, so a `.jinja` template keeps
// its BOS. A model folder in today's HF layout keeps the template in `chat_template.jinja` (which
// takes priority over a `chat_template` entry in `tokenizer_config.json`, as in transformers) and
// named templates in `additional_chat_templates/NAME.jinja`; a `tokenizer_config.json` without a
// template falls back to the `chat_template.jinja` beside it.
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

/** One message of a chat: the model layer's one definition. */
import type { ChatMessage } from "../model/chat_template.ts";
export type { ChatMessage };

export interface ChatTemplate {
  source: string; // file the template text came from
  template: string; // Jinja source
  bosToken: string;
  eosToken: string;
  compiled: Template;
  /** Other special tokens the template may render (unk_token, pad_token, ...), from the config. */
  specialTokens?: Record<string, string>;
  /** The tokenizer_config.json the special tokens came from (absent: none found, tokens empty). */
  tokenizerConfig?: string;
  /** That config's add_bos_token (true: the tokenizer adds a BOS itself when asked to). */
  addBosToken?: boolean;
}

export interface RenderOptions {
  /** Extra template variables, e.g. `{ enable_thinking: true }` for Qwen3. */
  extra?: Record<string, unknown>;
}

/** Token strings in tokenizer_config.json are plain strings or AddedToken objects. */
function tokenString(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string")
    return (v as { content: string }).content;
  return "";
}

const SPECIAL_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "pad_token",
  "sep_token",
  "cls_token",
  "mask_token",
] as const;

function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new RecapError(
      `cannot read chat template ${file}`,
      "pass a model folder, a tokenizer_config.json or a .jinja file",
    );
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new RecapError(`${file} is not a JSON object`, "pass the model's tokenizer_config.json");
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    throw new RecapError(
      `cannot read chat template ${file}`,
      "pass a model folder, a tokenizer_config.json or a .jinja file",
    );
  }
}

/** The template named `name` in a config's chat_template (a string, or a list of {name, template}). */
function configTemplate(cfg: Record<string, unknown>, name: string): string | undefined {
  const tpl = cfg["chat_template"];
  if (typeof tpl === "string") return name === "default" ? tpl : undefined;
  if (Array.isArray(tpl)) {
    const t = (tpl as { name?: string; template?: string }[]).find((x) => x.name === name)?.template;
    return typeof t === "string" ? t : undefined;
  }
  return undefined;
}

/** The template file of a folder in HF's layout, if there is one. */
function folderTemplateFile(dir: string, name: string): string | undefined {
  const f =
    name === "default"
      ? path.join(dir, "chat_template.jinja")
      : path.join(dir, "additional_chat_templates", `${name}.jinja`);
  return fs.existsSync(f) ? f : undefined;
}

/** Loads a template from a model folder, a tokenizer_config.json or a .jinja file (see the module
 *  comment); `name` picks a named template ("default" is the main one). */
export function loadChatTemplate(file: string, name = "default"): ChatTemplate {
  if (!fs.existsSync(file))
    throw new RecapError(
      `cannot read chat template ${file}: no such file or folder`,
      "pass a model folder, a tokenizer_config.json or a .jinja file",
    );
  const isDir = fs.statSync(file).isDirectory();
  const dir = isDir ? file : path.dirname(file);
  const cfgFile = isDir || !file.endsWith(".json") ? path.join(dir, "tokenizer_config.json") : file;
  const cfg = fs.existsSync(cfgFile) ? readConfig(cfgFile) : undefined;
  const named = name !== "default" ? ` named "${name}"` : "";
  let source: string, text: string | undefined;
  if (!isDir && !file.endsWith(".json")) {
    source = file; // an explicit .jinja (or other text) file
    text = readText(file);
    if (name !== "default")
      throw new RecapError(
        `${file} is a single template; a template${named} needs a model folder or a tokenizer_config.json`,
      );
  } else {
    // a folder: its template file first (transformers' priority); a config: its own entry first
    const fromFile = folderTemplateFile(dir, name);
    const fromCfg = cfg ? configTemplate(cfg, name) : undefined;
    const useFile = fromFile !== undefined && (isDir || fromCfg === undefined);
    source = useFile ? fromFile! : cfgFile;
    text = useFile ? readText(fromFile!) : fromCfg;
    if (text === undefined) {
      const where = isDir
        ? `${file} has no chat_template.jinja and no tokenizer_config.json with a chat_template`
        : `${file} has no chat_template${named} and there is no ${name === "default" ? "chat_template.jinja" : `additional_chat_templates/${name}.jinja`} beside it`;
      throw new RecapError(
        `${where}${isDir ? named : ""}`,
        "point to the model folder, its tokenizer_config.json or its chat template .jinja file",
      );
    }
  }
  const t = compile(source, text, cfg ? tokenString(cfg["bos_token"]) : "", cfg ? tokenString(cfg["eos_token"]) : "");
  if (cfg) {
    const specials: Record<string, string> = {};
    for (const k of SPECIAL_KEYS) if (tokenString(cfg[k]) !== "") specials[k] = tokenString(cfg[k]);
    t.specialTokens = specials;
    t.tokenizerConfig = cfgFile;
    t.addBosToken = cfg["add_bos_token"] === true;
  }
  return t;
}

function compile(source: string, template: string, bosToken: string, eosToken: string): ChatTemplate {
  try {
    return { source, template, bosToken, eosToken, compiled: new Template(template) };
  } catch (e) {
    throw new RecapError(`${source}: the chat template does not parse: ${(e as Error).message}`);
  }
}

/** Renders messages; with addGenerationPrompt the text ends where the assistant starts. */
export function renderMessages(
  t: ChatTemplate,
  messages: ChatMessage[],
  addGenerationPrompt: boolean,
  o: RenderOptions = {},
): string {
  try {
    return t.compiled.render({
      ...t.specialTokens,
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: t.bosToken,
      eos_token: t.eosToken,
      ...o.extra,
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
  t: ChatTemplate,
  messages: ChatMessage[],
  thinking: string,
  o: RenderOptions & { closeThinking?: boolean } = {},
): string {
  if (thinking.includes("</think>"))
    throw new RecapError("a prefill must not contain </think>: use closeThinking for a full hijack");
  const gen = renderMessages(t, messages, true, o);
  if (/<\/think>\s*$/.test(gen))
    throw new RecapError(
      `${t.source}: the generation prompt already closes the thinking (thinking disabled?)`,
      "enable thinking, e.g. extra { enable_thinking: true } for Qwen3",
    );
  const open = opensThinking(gen) ? "" : "<think>\n";
  return gen + open + thinking + (o.closeThinking ? "\n</think>\n\n" : "");
}

/** HF `continue_final_message`: render with a final assistant message holding `content` and cut
 *  right after that content (the template's own end-of-turn is dropped). Throws if the template
 *  rewrote the content so that it no longer appears verbatim. */
export function renderContinueFinal(
  t: ChatTemplate,
  messages: ChatMessage[],
  content: string,
  o: RenderOptions = {},
): string {
  const full = renderMessages(t, [...messages, { role: "assistant", content }], false, o);
  const trimmed = content.trimEnd();
  const at = full.lastIndexOf(trimmed);
  if (trimmed.length === 0 || at < 0)
    throw new RecapError(
      `${t.source}: the template rewrote the final assistant message, so it cannot be continued`,
      "use a raw completion prompt (renderPrefilled)",
    );
  return full.slice(0, at + trimmed.length);
}

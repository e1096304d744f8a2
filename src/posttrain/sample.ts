/**
 * Rejection sampling ([R1v1] 2.3.3; Llama 3's post-training): k responses per prompt from a model, kept by a rule
 * and written as SFT-ready `{"messages": [...]}` records with their provenance. The R1 recipe's stage 3 and
 * distillation sample a model this way.
 *
 * Every response goes through these stages in order; the first that rejects it is why it was dropped:
 *
 * | stage      | a response is dropped when                                                                       |
 * |------------|---------------------------------------------------------------------------------------------------|
 * | complete   | it was cut off by the token budget, or is empty                                                  |
 * | language, paragraphs, code, format | it fails that readability filter (src/data/readability.ts), when enabled |
 * | correct    | the prompt's checker rejects it (rule `correct`: the task's checker, an SFT task's check, a record's answer) |
 * | duplicate  | an earlier sample of the same prompt is the same text                                            |
 * | threshold  | its score is below x (rule `threshold:x`)                                                        |
 * | best-of-k  | another response to the prompt scored higher, or as high at a lower sample index (rule `best-of-k`) |
 *
 * Rules combine (`correct,best-of-k`: the best-scored correct response); `all` keeps everything the filters pass.
 * Scores come from a `ResponseScorer` (a reward model's `score`, or any function of the prompts and responses): of the
 * whole response, or of its summary, the text after `</think>` (`rmPart`; R1 scores helpfulness on the summary). The
 * surviving responses of a batch of prompts are scored in one call.
 *
 * Prompts are rendered with the model's chat template (`chat`: tokenizer_config.json's `chat_template`, else R1's,
 * with the generation prompt; whatever that prompt opens after the assistant header, such as R1's forced `<think>\n`,
 * becomes the start of the response), or as the R1-Zero prompt (`r1-zero`, for a base pre-trained on it, such as the
 * `tiny` preset's). Sampling is the fast batched decoder (src/infer/generate.ts); row `j * k + s` (prompt j, sample
 * s) draws from its own seeded stream, so the records do not depend on the batch size and a seed reproduces them.
 *
 * Held out means held out: prompts from the test split are refused unless `allowTest` (to study the filters, never
 * to train on).
 *
 * Not here: where prompts come from (sample_prompts.ts), SFT on the records (sft.ts), reward models (reward_model.ts).
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatMessage, ChatTokenizer } from '../data/chat.js';
import { applyChatTemplate } from '../data/chat.js';
import type { Lang } from '../data/language.js';
import { READABILITY_FILTERS } from '../data/readability.js';
import { formatPrompt, R1_ZERO_TEMPLATE } from '../data/tasks/template.js';
import type { Split } from '../data/tasks/task.js';
import { contextLength, encodePrompt } from '../infer/context.js';
import { type FinishReason, generate, type TextCodec } from '../infer/generate.js';
import { checkSamplingParams, type ResolvedSampling, type SamplingParams } from '../infer/sampling.js';
import type { CausalLM } from '../models/causal_lm.js';
import type { SamplePrompt } from './sample_prompts.js';

/** Scores responses to prompts (higher is better), one number per response: a reward model's `score` fits. */
export type ResponseScorer = (prompts: ChatMessage[][], responses: string[]) => Float64Array;

/** What the scorer sees: the whole response, or its summary (the text after the last `</think>`). */
export type ScoredPart = 'summary' | 'all';

/** How prompts are rendered (see the file header). */
export const SAMPLE_TEMPLATES = ['chat', 'r1-zero'] as const;
export type SampleTemplate = (typeof SAMPLE_TEMPLATES)[number];

/** Which responses are kept (see the file header); all false keeps every response the filters pass (`all`). */
export interface KeepRule {
  correct: boolean;
  /** Keep scores >= this; null for no threshold. */
  threshold: number | null;
  bestOfK: boolean;
}

/** The readability filters by name, in the order they are applied. */
export const SAMPLE_FILTERS: readonly string[] = Object.keys(READABILITY_FILTERS);

/** Sampling defaults: temperature 0.7 and top-p 0.95 (R1's RL and rejection sampling), 256 new tokens. */
export const SAMPLE_SAMPLING: Partial<ResolvedSampling> = { temperature: 0.7, topP: 0.95, maxTokens: 256 };

/** Stop strings when none are given: after the answer of the R1-Zero format; the chat template ends on EOS. */
export const DEFAULT_STOP: Readonly<Record<SampleTemplate, readonly string[]>> = { chat: [], 'r1-zero': ['</answer>'] };

/**
 * Parses a keep rule: `correct`, `best-of-k`, `threshold:X`, a comma list of these, or `all`. Errors are one line
 * naming the item.
 */
export function parseKeepRule(spec: string, who = 'keep rule'): KeepRule {
  const rule: KeepRule = { correct: false, threshold: null, bestOfK: false };
  const items = spec.split(',').map((s) => s.trim());
  const known = 'correct, best-of-k, threshold:X, a comma list of these, or all';
  for (const item of items) {
    if (item === 'all' && items.length === 1) continue;
    if (item === 'correct') rule.correct = true;
    else if (item === 'best-of-k') rule.bestOfK = true;
    else if (item.startsWith('threshold:')) {
      const raw = item.slice('threshold:'.length);
      const x = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isFinite(x)) throw new Error(`${who}: threshold must be a finite number, got '${raw}'`);
      rule.threshold = x;
    } else throw new Error(`${who}: '${item}' is not one of ${known}`);
  }
  return rule;
}

/** The rule as text (`correct,threshold:0.5`, `all`), as `parseKeepRule` reads it. */
export function keepRuleText(r: KeepRule): string {
  const parts = [
    ...(r.correct ? ['correct'] : []),
    ...(r.threshold !== null ? [`threshold:${r.threshold}`] : []),
    ...(r.bestOfK ? ['best-of-k'] : []),
  ];
  return parts.length ? parts.join(',') : 'all';
}

/** Parses the filters: `readable` (all of SAMPLE_FILTERS), `none`, or a comma list of filter names. */
export function parseFilters(spec: string, who = 'filters'): string[] {
  if (spec === 'readable') return [...SAMPLE_FILTERS];
  if (spec === 'none') return [];
  return spec.split(',').map((s) => {
    const name = s.trim();
    if (!SAMPLE_FILTERS.includes(name))
      throw new Error(
        `${who}: '${name}' is not a filter (${SAMPLE_FILTERS.join(', ')}); readable (all of them) and none stand alone`,
      );
    return name;
  });
}

/** A codec that may render chat templates: a Tokenizer (its `config` holds the template), or a plain TextCodec. */
export interface SampleCodec extends TextCodec {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  readonly config?: ChatTokenizer['config'];
}

/** A rendered prompt: the text the model reads, and the part of the response the template already wrote. */
export interface RenderedPrompt {
  text: string;
  /** Text the generation prompt opens the response with (R1's `<think>\n`); '' for none. */
  prefix: string;
}

/** The index where `a` and `b` first differ. */
function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Renders `messages` as the model reads them under `template` (see the file header); `who` names the prompt. */
export function renderSamplePrompt(
  codec: Pick<SampleCodec, 'config'>,
  messages: readonly ChatMessage[],
  template: SampleTemplate,
  who: string,
): RenderedPrompt {
  if (template === 'r1-zero') {
    if (messages.length !== 1 || messages[0].role !== 'user')
      throw new Error(`${who}: the r1-zero template takes one user turn, got ${messages.length} turns (use chat)`);
    return { text: formatPrompt(messages[0].content, R1_ZERO_TEMPLATE), prefix: '' };
  }
  if (!codec.config) throw new Error(`${who}: the chat template needs a tokenizer (its chat_template or R1's)`);
  const tok = { config: codec.config };
  const text = applyChatTemplate(tok, messages, { addGenerationPrompt: true });
  // the assistant header is where the generation prompt and a rendered assistant turn agree; the rest is forced
  const probe = applyChatTemplate(tok, [...messages, { role: 'assistant', content: '\u0000' }]);
  return { text, prefix: text.slice(commonPrefix(text, probe)) };
}

/** The token ids of a rendered prompt: the chat template writes its own BOS; the R1-Zero prompt gets the codec's. */
function encodeRendered(codec: SampleCodec, text: string, template: SampleTemplate): number[] {
  return template === 'chat' ? codec.encode(text, { addSpecialTokens: false }) : codec.encode(text);
}

/** The text a scorer sees of `response` for `part`: the text after the last `</think>`, or the whole response. */
export function scoredText(response: string, part: ScoredPart): string {
  const at = response.lastIndexOf('</think>');
  return part === 'all' || at < 0 ? response : response.slice(at + '</think>'.length).trim();
}

/**
 * Refuses test-split prompts unless `allowTest`, naming the first and saying why; `allow` names the setting that allows
 * them (the CLI's flag).
 */
export function checkHeldOut(prompts: readonly SamplePrompt[], allowTest = false, allow = 'allowTest'): void {
  if (allowTest) return;
  const p = prompts.find((x) => x.split === 'test');
  if (p)
    throw new Error(
      `sample: ${p.where ?? `prompt ${p.id}`} is from the test split, and held-out problems must never reach ` +
        `training data (held out means held out); ${allow} samples them anyway, to study the filters, never to train`,
    );
}

/** One generated response before it is judged. */
export interface SampledResponse {
  /** The response as the model wrote it, the template's forced prefix included. */
  response: string;
  finish: FinishReason;
}

/** Where the records came from, written into each of them. */
export interface SampleProvenance {
  /** The model's name or directory (null when unknown). */
  model: string | null;
  template: SampleTemplate;
  seed: number;
  temperature: number;
  topP: number;
}

/** A kept response as an SFT record (`toChatExample` reads it), with its provenance. */
export interface SampleRecord {
  /** The prompt's turns, then the response as the assistant's turn. */
  messages: ChatMessage[];
  task: string | null;
  /** The problem's or item's content id, or the record's `file:line`. */
  id: string;
  split: Split | null;
  lang: Lang | null;
  model: string | null;
  template: SampleTemplate;
  seed: number;
  temperature: number;
  top_p: number;
  /** The sample's index among the prompt's k. */
  sample: number;
  /** Whether the prompt's checker passed it (null without a checker). */
  correct: boolean | null;
  /** The scorer's score (null without a scorer). */
  score: number | null;
}

/** What happened to one response. */
export interface SampleVerdict {
  /** Index of the prompt in the call. */
  prompt: number;
  sample: number;
  /** The response as recorded (trimmed). */
  response: string;
  finish: FinishReason;
  /** The checks it fails, each judged on its own: complete, the enabled filters, correct. */
  failed: string[];
  correct: boolean | null;
  score: number | null;
  /** The stage that dropped it, or null when it was kept. */
  dropped: string | null;
}

/** How many responses passed each check and why the others were dropped. */
export interface SampleCounts {
  prompts: number;
  samples: number;
  kept: number;
  /** Prompts with at least one kept response. */
  promptsKept: number;
  /** Responses that pass each check (complete, the enabled filters, and correct when every prompt has a checker), each judged on every response. */
  passed: Record<string, number>;
  /** Responses dropped, by the first stage that dropped them; the values sum to samples - kept. */
  dropped: Record<string, number>;
}

/** How responses are judged. */
export interface SelectOptions {
  /** Default `correct`. */
  keep?: KeepRule | string;
  /** Readability filters by name (SAMPLE_FILTERS), `readable` (default) or `none`. */
  filters?: readonly string[] | string;
  /** Needed by the threshold and best-of-k rules; scores are recorded whenever one is given. */
  scorer?: ResponseScorer;
  /** Default 'summary'. */
  rmPart?: ScoredPart;
  /** Default false: test-split prompts are refused. */
  allowTest?: boolean;
  /** Written into the records (defaults: no model, chat template, seed 0, temperature 0.7, top-p 0.95). */
  provenance?: Partial<SampleProvenance>;
}

/** The kept records, one verdict per response, and the counts. */
export interface SampleSelection {
  records: SampleRecord[];
  verdicts: SampleVerdict[];
  counts: SampleCounts;
}

interface Judging {
  keep: KeepRule;
  filters: string[];
  /** Every prompt has a checker, so 'correct' is counted as a check. */
  checked: boolean;
  scorer?: ResponseScorer;
  rmPart: ScoredPart;
  provenance: SampleProvenance;
}

function resolveJudging(prompts: readonly SamplePrompt[], opts: SelectOptions): Judging {
  const keep = typeof opts.keep === 'string' ? parseKeepRule(opts.keep) : (opts.keep ?? parseKeepRule('correct'));
  const filters = typeof opts.filters === 'string' ? parseFilters(opts.filters) : [...(opts.filters ?? SAMPLE_FILTERS)];
  for (const f of filters)
    if (!SAMPLE_FILTERS.includes(f)) throw new Error(`filters: '${f}' is not a filter (${SAMPLE_FILTERS.join(', ')})`);
  if ((keep.bestOfK || keep.threshold !== null) && !opts.scorer)
    throw new Error(`keep rule '${keepRuleText(keep)}' needs scores: give a scorer (a reward model)`);
  const unchecked = prompts.find((p) => !p.check);
  if (keep.correct && unchecked)
    throw new Error(
      `keep rule 'correct' needs a checker, and ${unchecked.where ?? `prompt ${unchecked.id}`} has none (no "answer"): keep all, best-of-k or threshold:X instead`,
    );
  const rmPart = opts.rmPart ?? 'summary';
  if (rmPart !== 'summary' && rmPart !== 'all') throw new Error(`rm part must be summary or all, got '${rmPart}'`);
  const provenance: SampleProvenance = {
    model: null,
    template: 'chat',
    seed: 0,
    temperature: SAMPLE_SAMPLING.temperature!,
    topP: SAMPLE_SAMPLING.topP!,
    ...opts.provenance,
  };
  return { keep, filters, checked: !unchecked, scorer: opts.scorer, rmPart, provenance };
}

/** Empty counts with the stages of `j` in order (so that printed and JSON counts list them in that order). */
function emptyCounts(j: Judging): SampleCounts {
  const checks = ['complete', ...j.filters, ...(j.checked ? ['correct'] : [])];
  const stages = ['complete', ...j.filters, ...(j.keep.correct ? ['correct'] : []), 'duplicate'];
  if (j.keep.threshold !== null) stages.push('threshold');
  if (j.keep.bestOfK) stages.push('best-of-k');
  return {
    prompts: 0,
    samples: 0,
    kept: 0,
    promptsKept: 0,
    passed: Object.fromEntries(checks.map((c) => [c, 0])),
    dropped: Object.fromEntries(stages.map((s) => [s, 0])),
  };
}

/** `b` added into `a`. */
function addCounts(a: SampleCounts, b: SampleCounts): void {
  a.prompts += b.prompts;
  a.samples += b.samples;
  a.kept += b.kept;
  a.promptsKept += b.promptsKept;
  for (const [k, v] of Object.entries(b.passed)) a.passed[k] = (a.passed[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.dropped)) a.dropped[k] = (a.dropped[k] ?? 0) + v;
}

/**
 * Loads a scorer from a JS/TS module (TypeScript under tsx): its default export, or its export `score`, either a
 * ResponseScorer or an object with a `score` method (a loaded reward model). Errors name the file.
 */
export async function loadScorerModule(file: string): Promise<ResponseScorer> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`scorer ${file}: cannot load (${(e as Error).message.split('\n')[0]})`);
  }
  for (const v of [mod.default, mod.score]) {
    if (typeof v === 'function') return v as ResponseScorer;
    const method = (v as { score?: unknown } | null | undefined)?.score;
    if (typeof method === 'function') return (p, r) => (method as ResponseScorer).call(v, p, r);
  }
  throw new Error(
    `scorer ${file}: exports no scorer (a default export or "score": a function (prompts, responses) => scores, or an object with a score method)`,
  );
}

/** Calls the scorer and checks its answer: one finite number per response. */
function runScorer(scorer: ResponseScorer, prompts: ChatMessage[][], responses: string[]): Float64Array {
  const scores = scorer(prompts, responses);
  if (scores?.length !== responses.length)
    throw new Error(`scorer: returned ${scores?.length ?? 'no'} scores for ${responses.length} responses`);
  const bad = Array.prototype.findIndex.call(scores, (x: number) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new Error(`scorer: score ${bad} is ${String(scores[bad])}, not a finite number`);
  return Float64Array.from(scores);
}

/** Marks `v` as dropped at `stage` and counts it. */
function dropAt(counts: SampleCounts, v: SampleVerdict, stage: string): void {
  v.dropped = stage;
  counts.dropped[stage]++;
}

/** The per-response stages: complete, the filters, correct, duplicate (those that need no scores). */
function judge(prompts: readonly SamplePrompt[], outputs: readonly (readonly SampledResponse[])[], j: Judging) {
  const verdicts: SampleVerdict[] = [];
  const counts = emptyCounts(j);
  prompts.forEach((p, pi) => {
    const seen = new Set<string>();
    outputs[pi].forEach((out, sample) => {
      const response = out.response.trim();
      const failed: string[] = [];
      if (out.finish === 'length' || response === '') failed.push('complete');
      for (const f of j.filters) if (!READABILITY_FILTERS[f](response, { codeTask: p.codeTask })) failed.push(f);
      const correct = p.check ? p.check(response) : null;
      if (correct === false) failed.push('correct');
      for (const c of Object.keys(counts.passed)) if (!failed.includes(c)) counts.passed[c]++;
      const v: SampleVerdict = {
        prompt: pi,
        sample,
        response,
        finish: out.finish,
        failed,
        correct,
        score: null,
        dropped: null,
      };
      verdicts.push(v);
      const first = failed.find((c) => c in counts.dropped);
      if (first) dropAt(counts, v, first);
      else if (seen.has(response)) dropAt(counts, v, 'duplicate');
      else seen.add(response);
    });
    counts.samples += outputs[pi].length;
  });
  counts.prompts = prompts.length;
  return { verdicts, counts };
}

/**
 * Judges responses already generated (the selection half of `rejectionSample`, separate so that it can be checked on
 * hand-written responses): `outputs[j]` are the k responses to `prompts[j]`. Returns the kept records in prompt and
 * sample order, a verdict per response and the counts.
 */
export function selectResponses(
  prompts: readonly SamplePrompt[],
  outputs: readonly (readonly SampledResponse[])[],
  opts: SelectOptions = {},
): SampleSelection {
  if (outputs.length !== prompts.length)
    throw new RangeError(`sample: ${prompts.length} prompts but ${outputs.length} response lists`);
  checkHeldOut(prompts, opts.allowTest);
  return selectJudged(prompts, outputs, resolveJudging(prompts, opts));
}

function selectJudged(
  prompts: readonly SamplePrompt[],
  outputs: readonly (readonly SampledResponse[])[],
  j: Judging,
): SampleSelection {
  const { verdicts, counts } = judge(prompts, outputs, j);
  const alive = verdicts.filter((v) => v.dropped === null);
  if (j.scorer && alive.length > 0) {
    const scores = runScorer(
      j.scorer,
      alive.map((v) => prompts[v.prompt].messages.map((m) => ({ ...m }))),
      alive.map((v) => scoredText(v.response, j.rmPart)),
    );
    alive.forEach((v, i) => (v.score = scores[i]));
  }
  if (j.keep.threshold !== null) for (const v of alive) if (v.score! < j.keep.threshold) dropAt(counts, v, 'threshold');
  if (j.keep.bestOfK) {
    const best = new Map<number, SampleVerdict>();
    for (const v of alive) {
      if (v.dropped !== null) continue;
      const b = best.get(v.prompt);
      if (!b || v.score! > b.score!) best.set(v.prompt, v);
    }
    for (const v of alive) if (v.dropped === null && best.get(v.prompt) !== v) dropAt(counts, v, 'best-of-k');
  }
  const kept = verdicts.filter((v) => v.dropped === null);
  counts.kept = kept.length;
  counts.promptsKept = new Set(kept.map((v) => v.prompt)).size;
  const pv = j.provenance;
  const records = kept.map((v): SampleRecord => {
    const p = prompts[v.prompt];
    return {
      messages: [
        ...p.messages.map((m) => ({ role: m.role, content: m.content })),
        { role: 'assistant', content: v.response },
      ],
      task: p.task ?? null,
      id: p.id,
      split: p.split ?? null,
      lang: p.lang ?? null,
      model: pv.model,
      template: pv.template,
      seed: pv.seed,
      temperature: pv.temperature,
      top_p: pv.topP,
      sample: v.sample,
      correct: v.correct,
      score: v.score,
    };
  });
  return { records, verdicts, counts };
}

/** Progress of a long run: prompts done of all, responses kept so far, seconds since the start. */
export interface SampleProgress {
  done: number;
  total: number;
  kept: number;
  samples: number;
  seconds: number;
}

/** How to sample and judge. */
export interface RejectionSampleOptions extends SelectOptions, Omit<SamplingParams, 'n'> {
  /** Samples per prompt. */
  k: number;
  /** Default 'chat'. */
  template?: SampleTemplate;
  /** Rows decoded together (default 64): prompts are sampled max(1, floor(batchSize / k)) at a time. */
  batchSize?: number;
  engine?: 'fast' | 'model';
  /** The model's name for the records' provenance. */
  model?: string;
  /** Called every `progressEvery` prompts (default: after every batch) and at the end. */
  onProgress?: (p: SampleProgress) => void;
  progressEvery?: number;
}

/** The records, one verdict per response, the counts, and the resolved sampling parameters. */
export interface RejectionSampleResult extends SampleSelection {
  sampling: ResolvedSampling;
}

/**
 * Samples k responses to every prompt and keeps those that pass (see the file header). Everything a bad option or
 * prompt can break is checked before the first token is generated: the keep rule against the scorer and checkers,
 * the test split, the template, every prompt's length against the model's context.
 */
export function rejectionSample(
  model: CausalLM,
  codec: SampleCodec,
  prompts: readonly SamplePrompt[],
  opts: RejectionSampleOptions,
): RejectionSampleResult {
  const template = opts.template ?? 'chat';
  if (!SAMPLE_TEMPLATES.includes(template))
    throw new Error(`sample: template must be ${SAMPLE_TEMPLATES.join(' or ')}, got '${template}'`);
  const sampling = checkSamplingParams(
    { ...opts, n: opts.k, stop: opts.stop ?? DEFAULT_STOP[template] },
    { who: 'sample', names: { n: 'k', topP: 'topP', topK: 'topK', maxTokens: 'maxTokens' }, defaults: SAMPLE_SAMPLING },
  );
  if (prompts.length === 0) throw new RangeError('sample: no prompts');
  checkHeldOut(prompts, opts.allowTest);
  const { k, maxTokens } = { k: sampling.n, maxTokens: sampling.maxTokens };
  const judging = resolveJudging(prompts, {
    ...opts,
    provenance: {
      model: opts.model ?? null,
      template,
      seed: sampling.seed,
      temperature: sampling.temperature,
      topP: sampling.topP,
    },
  });
  const context = contextLength(model);
  const encoder: TextCodec = {
    encode: (text) => encodeRendered(codec, text, template),
    decode: (ids) => codec.decode(ids),
    eosId: codec.eosId,
    maxBytesPerToken: codec.maxBytesPerToken,
  };
  const rendered = prompts.map((p) => {
    const who = `sample: ${p.where ?? `prompt ${p.id}`}`;
    const r = renderSamplePrompt(codec, p.messages, template, who);
    return { ...r, ids: encodePrompt(encoder, r.text, maxTokens, context, who) };
  });
  const batchSize = opts.batchSize ?? 64;
  const chunk = Math.max(1, Math.floor(batchSize / k));
  const every = opts.progressEvery ?? chunk;
  const total: SampleSelection = { records: [], verdicts: [], counts: emptyCounts(judging) };
  const t0 = performance.now();
  let mark = every;
  for (let j0 = 0; j0 < prompts.length; j0 += chunk) {
    const part = prompts.slice(j0, j0 + chunk);
    const rows = rendered.slice(j0, j0 + chunk).flatMap((r) => Array.from({ length: k }, () => r.ids));
    const gens = generate(model, rows, {
      maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: sampling.seed,
      firstRow: j0 * k,
      eosId: codec.eosId,
      stop: sampling.stop,
      decode: (ids) => codec.decode(ids),
      batchSize: rows.length,
      engine: opts.engine,
    });
    const outputs = part.map((_, i) =>
      gens.slice(i * k, (i + 1) * k).map((g) => ({ response: rendered[j0 + i].prefix + g.text, finish: g.finish })),
    );
    const sel = selectJudged(part, outputs, judging);
    total.records.push(...sel.records);
    total.verdicts.push(...sel.verdicts.map((v) => ({ ...v, prompt: v.prompt + j0 })));
    addCounts(total.counts, sel.counts);
    const done = Math.min(prompts.length, j0 + chunk);
    if (opts.onProgress && (done >= mark || done === prompts.length)) {
      mark = (Math.floor(done / every) + 1) * every;
      const c = total.counts;
      opts.onProgress({
        done,
        total: prompts.length,
        kept: c.kept,
        samples: c.samples,
        seconds: (performance.now() - t0) / 1000,
      });
    }
  }
  return { ...total, sampling };
}

/** The records as JSONL text (one object per line). */
export function recordsJsonl(records: readonly SampleRecord[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);

/** The counts as lines for people: each check's pass rate, what was kept, and why the rest was dropped. */
export function describeCounts(c: SampleCounts): string[] {
  const width = Math.max(8, ...Object.keys(c.passed).map((k) => k.length));
  const n = String(c.samples).length;
  const lines = Object.entries(c.passed).map(
    ([k, v]) => `  ${k.padEnd(width)}  ${String(v).padStart(n)}/${c.samples}  ${pct(v, c.samples).padStart(6)}`,
  );
  const dropped = Object.entries(c.dropped)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`);
  return [
    `passed (each check on all ${c.samples} responses):`,
    ...lines,
    `kept ${c.kept} of ${c.samples} responses (${pct(c.kept, c.samples)}), from ${c.promptsKept} of ${c.prompts} prompts`,
    `dropped ${c.samples - c.kept}${dropped.length ? `: ${dropped.join(', ')}` : ''}`,
  ];
}

/**
 * The `plain` corpus style (corpus.ts): task problems written the way textbooks and web pages write them, never after
 * the R1-Zero template and never with `<think>` / `<answer>` around a task's solution, so that a base model trained
 * on it has not seen the format R1-Zero's RL rewards (R1 2.2.4: the format and the reflection emerge under RL).
 *
 * - Worked solutions in five layouts (`Problem 3. ... Solution. ... Answer: 47`, a Q&A page `Q: ... A: ...`, a worked
 *   example, a forum answer, a chat log `User: ... Assistant: ...`), in English or Spanish like the tasks; about half
 *   keep the task's own check line (`Check: ...`), and some make a slip in a calculation, notice it (`Wait, 10 - 4 is
 *   6, not 7. Let me redo that step.`) and redo the step;
 * - terse (the problem restated, then the answer) and partial (cut off before the answer) versions in the same layouts;
 * - generic tagged documents (`tagged`): markup like `<think>`, `<answer>`, `<note>` around text about other things
 *   (the letters of words, their length, their order in the alphabet: never a question of the SFT tasks, whose held-out items must stay out of training data), some after an instruction that names the tags, so that a model can
 *   produce the tags when an instruction asks for them.
 *
 * `templatedOrTaggedSolution(text)` says whether a document breaks these rules; the tests run it over large samples.
 * Not here: the document mix, the task streams and the `templated` style (corpus.ts).
 */
import type { Generator as Rng } from '../tensor/random.js';
import { type Lang, LANGUAGES } from './language.js';
import { NOUNS } from './sft/glossary.js';
import { TASKS } from './tasks/index.js';
import { randInt } from './tasks/task.js';
import { R1_ZERO_TEMPLATE } from './tasks/template.js';

const uniform = (rng: Rng): number => rng.uniform(1, 'float64')[0];
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[randInt(rng, 0, xs.length - 1)];

/** A worked solution split into its steps and final answer (from the task's `<think>...</think><answer>` form). */
export interface SolutionParts {
  steps: string[];
  answer: string;
}

/** The steps and answer of a task solution written `<think>\n...\n</think>\n<answer>X</answer>`. */
export function solutionParts(solution: string): SolutionParts {
  const end = solution.indexOf('\n</think>');
  const steps = solution.slice('<think>\n'.length, end).split('\n');
  const m = /<answer>([\s\S]*)<\/answer>\s*$/.exec(solution);
  if (!solution.startsWith('<think>\n') || end < 0 || !m) throw new Error(`corpus: not an R1 solution: ${solution}`);
  return { steps, answer: m[1] };
}

/** How a page lays out a problem: its heading, the line before the answer, the answer line. */
interface Layout {
  head: (no: number, prompt: string) => string;
  answer: (a: string) => string;
}

const LAYOUTS: Record<Lang, readonly Layout[]> = {
  en: [
    { head: (no, p) => `Problem ${no}. ${p}\nSolution.`, answer: (a) => `Answer: ${a}` },
    { head: (_, p) => `Q: ${p}\nA:`, answer: (a) => `The answer is ${a}.` },
    { head: (no, p) => `Example ${no}\n${p}`, answer: (a) => `So the answer is ${a}.` },
    { head: (_, p) => `Question: ${p}\n\nBest answer:`, answer: (a) => `Final answer: ${a}` },
    { head: (_, p) => `User: ${p}\nAssistant:`, answer: (a) => `The answer is ${a}.` },
  ],
  es: [
    { head: (no, p) => `Problema ${no}. ${p}\nSolución.`, answer: (a) => `Respuesta: ${a}` },
    { head: (_, p) => `P: ${p}\nR:`, answer: (a) => `La respuesta es ${a}.` },
    { head: (no, p) => `Ejemplo ${no}\n${p}`, answer: (a) => `Por lo tanto, la respuesta es ${a}.` },
    { head: (_, p) => `Pregunta: ${p}\n\nMejor respuesta:`, answer: (a) => `Respuesta final: ${a}` },
    { head: (_, p) => `Usuario: ${p}\nAsistente:`, answer: (a) => `La respuesta es ${a}.` },
  ],
};

/** Check lines of the tasks' solutions (`Check: ...`, `Comprobación: ...`). */
const CHECK_LINE = /^(Check|Comprobación):/;

/** Share of worked solutions that keep their check line (when they have one). */
export const PLAIN_CHECK_SHARE = 0.5;
/** Share of worked solutions that make a slip, notice it and redo the step (when a step calculates). */
export const PLAIN_SLIP_SHARE = 0.15;

/**
 * Calculations written `A op B [op C ...] = R` with integer operands (negative ones may be in parentheses); in a chain
 * `A * B = C * D + E = R` only links whose result is a lone number count. Global: use with matchAll.
 */
export const CALCULATION =
  /(?<![\w).])(\(?-?\d+\)?(?:[ \t]*[-+*/][ \t]*\(?-?\d+\)?)+)[ \t]*=[ \t]*(-?\d+)(?![\w.]|[ \t]*[-+*/(\d])/g;
/** CALCULATION, one match at a time. */
const CALC_ONE = new RegExp(CALCULATION.source);

/**
 * Whether `text` holds a task's work: a calculation (`A op B = R`) or an equation in x (`3x + 4`, `= -2x`; an x that
 * starts a word, so `box-office` is not one). What the plain style never puts inside `<think>` / `<answer>`.
 */
export function holdsTaskWork(text: string): boolean {
  return CALC_ONE.test(text) || /\b\d*x\b\s*[-+=]|=\s*-?\d*x\b/.test(text);
}

const SLIP: Record<Lang, (calc: string, right: string, wrong: string) => string> = {
  en: (calc, right, wrong) => `Wait, ${calc} is ${right}, not ${wrong}. Let me redo that step.`,
  es: (calc, right, wrong) => `Espera, ${calc} es ${right}, no ${wrong}. Repito ese paso.`,
};

/**
 * The steps with a slip in the first calculating step from `from` on: the step written up to a wrong result, a line
 * that notices it, then the step again, right. Null when no step calculates.
 */
export function withSlip(rng: Rng, steps: readonly string[], lang: Lang, from = 0): string[] | null {
  for (let i = from; i < steps.length; i++) {
    const m = CALC_ONE.exec(steps[i]);
    if (!m) continue;
    const right = Number(m[2]);
    const delta = pick(rng, [-10, -2, -1, 1, 2, 10]);
    const wrong = String(right + delta);
    const upTo = m.index + m[0].length - m[2].length;
    const slipped = `${steps[i].slice(0, upTo)}${wrong}`;
    const calc = m[1].replace(/[ \t]+/g, ' ');
    return [...steps.slice(0, i), slipped, SLIP[lang](calc, m[2], wrong), ...steps.slice(i)];
  }
  return null;
}

export type PlainKind = 'worked' | 'terse' | 'partial';

/**
 * A task problem on a page (see the file header): `worked` (all steps and the answer, maybe without the check line,
 * maybe with a slip that is redone), `terse` (the problem restated, then the answer) or `partial` (cut off after some
 * steps). `steps` may come from a switched-language solution.
 */
export function plainDocument(rng: Rng, kind: PlainKind, prompt: string, parts: SolutionParts, lang: Lang): string {
  const layout = pick(rng, LAYOUTS[lang]);
  const head = layout.head(randInt(rng, 1, 40), prompt);
  let steps = parts.steps;
  // the same line break after the head as a worked solution: the choice between working and guessing comes after
  // the solution's first line, not at the first token after the head (a base trained with `head steps[0]` for terse
  // and `head\nsteps` for worked answered tersely under every prompt that ends in `Assistant:`)
  if (kind === 'terse') return `${head}\n${steps[0]}\n${layout.answer(parts.answer)}`;
  if (kind === 'partial') {
    const keep = steps.length > 1 ? randInt(rng, 1, steps.length - 1) : steps.length;
    return `${head}\n${steps.slice(0, keep).join('\n')}`;
  }
  if (uniform(rng) >= PLAIN_CHECK_SHARE) {
    const kept = steps.filter((s) => !CHECK_LINE.test(s));
    if (kept.length > 0) steps = kept;
  }
  if (uniform(rng) < PLAIN_SLIP_SHARE) steps = withSlip(rng, steps, lang, 1) ?? steps;
  return `${head}\n${steps.join('\n')}\n${layout.answer(parts.answer)}`;
}

// ---- generic tagged documents

/**
 * A question about something other than the tasks (and other than the SFT tasks' facts and translations: their test
 * items stay held out), with short notes and an answer (no calculation anywhere).
 */
interface Quiz {
  q: string;
  notes: string;
  a: string;
}

const QUIZ_TEXT = {
  en: {
    letters: (w: string) => `How many letters are in the word "${w}"?`,
    lettersNotes: (w: string, n: number) => `Counting the letters of "${w}" one by one gives ${n}.`,
    longer: (a: string, b: string) => `Which word is longer, "${a}" or "${b}"?`,
    longerNotes: (a: string, na: number, b: string, nb: number, w: string) =>
      `"${a}" has ${na} letters and "${b}" has ${nb} letters, so "${w}" is longer.`,
    first: (a: string, b: string) => `Which word comes first in the alphabet, "${a}" or "${b}"?`,
    firstNotes: (a: string, b: string, w: string) =>
      `"${a}" and "${b}" start with different letters; in the alphabet, "${w}" comes first.`,
  },
  es: {
    letters: (w: string) => `¿Cuántas letras tiene la palabra "${w}"?`,
    lettersNotes: (w: string, n: number) => `Contando las letras de "${w}" una por una salen ${n}.`,
    longer: (a: string, b: string) => `¿Qué palabra es más larga, "${a}" o "${b}"?`,
    longerNotes: (a: string, na: number, b: string, nb: number, w: string) =>
      `"${a}" tiene ${na} letras y "${b}" tiene ${nb} letras, así que "${w}" es más larga.`,
    first: (a: string, b: string) => `¿Qué palabra va primero en el alfabeto, "${a}" o "${b}"?`,
    firstNotes: (a: string, b: string, w: string) =>
      `"${a}" y "${b}" empiezan por letras distintas; en el alfabeto, "${w}" va primero.`,
  },
};

/** Two different nouns of the glossary, in `lang`, that differ in the asked way. */
function twoWords(rng: Rng, lang: Lang, differ: (a: string, b: string) => boolean): [string, string] {
  for (;;) {
    const a = pick(rng, NOUNS)[lang];
    const b = pick(rng, NOUNS)[lang];
    if (a !== b && differ(a, b)) return [a, b];
  }
}

/** One generic question with notes and answer, in `lang`. */
function quiz(rng: Rng, lang: Lang): Quiz {
  const T = QUIZ_TEXT[lang];
  const kind = randInt(rng, 1, 3);
  if (kind === 1) {
    const w = pick(rng, NOUNS)[lang];
    const n = [...w].length;
    return { q: T.letters(w), notes: T.lettersNotes(w, n), a: String(n) };
  }
  if (kind === 2) {
    const [a, b] = twoWords(rng, lang, (x, y) => x.length !== y.length);
    const w = a.length > b.length ? a : b;
    return { q: T.longer(a, b), notes: T.longerNotes(a, a.length, b, b.length, w), a: w };
  }
  const [a, b] = twoWords(rng, lang, (x, y) => x[0] !== y[0]);
  const w = a.localeCompare(b, lang) < 0 ? a : b;
  return { q: T.first(a, b), notes: T.firstNotes(a, b, w), a: w };
}

const TAG_INSTRUCTIONS: Record<Lang, readonly string[]> = {
  en: [
    'Put your notes in <think> </think> tags and the result in <answer> </answer> tags.',
    'Write the reasoning within <think> </think> and the final answer within <answer> </answer>.',
    'Think inside <think> </think> first, then give only the answer inside <answer> </answer>.',
  ],
  es: [
    'Escribe tus notas entre las etiquetas <think> </think> y el resultado entre <answer> </answer>.',
    'Escribe el razonamiento dentro de <think> </think> y la respuesta final dentro de <answer> </answer>.',
    'Piensa primero dentro de <think> </think> y da solo la respuesta dentro de <answer> </answer>.',
  ],
};

/** The preamble of a chat log whose assistant answers in tags (a system prompt, as chat logs on the web have them). */
const TAG_PREAMBLES: Record<Lang, readonly string[]> = {
  en: [
    'A chat between a user and an assistant. The assistant writes its reasoning inside <think> </think> and the final answer inside <answer> </answer>.',
    'The assistant thinks first and then answers. The thinking goes within <think> </think> tags and the answer within <answer> </answer> tags.',
  ],
  es: [
    'Una conversación entre un usuario y un asistente. El asistente escribe su razonamiento dentro de <think> </think> y la respuesta final dentro de <answer> </answer>.',
    'El asistente piensa primero y después responde. El razonamiento va entre las etiquetas <think> </think> y la respuesta entre <answer> </answer>.',
  ],
};

/** A tagged reply: the notes restate the question first (as a reader's scratch notes do), then work it out. */
const tagged = (x: Quiz): string => `<think> ${x.q} ${x.notes} </think> <answer>${x.a}</answer>`;

/**
 * Share of the replies in chat logs with a tag preamble that do use the tags (the others answer in plain words, as
 * assistants on the web often ignore their instructions). A base trained with every such reply tagged wrote the tags
 * under the R1-Zero template 90% of the time; the paper's base did not know the format.
 */
export const PLAIN_TAGGED_REPLY_SHARE = 0.5;

/**
 * A generic tagged document in `lang` (see the file header): a chat log of one or two turns whose preamble says that
 * the assistant answers in tags (40%; a reply uses them with probability PLAIN_TAGGED_REPLY_SHARE, restating the
 * question first), an instruction that names the tags and a tagged reply, on its own or in a chat log (15% each), a
 * quiz page in markup (15%), or notes in `<note>` markup (15%).
 */
export function taggedText(rng: Rng, lang: Lang = 'en'): string {
  const u = uniform(rng);
  const form = u < 0.4 ? 4 : Math.min(3, Math.floor((u - 0.4) / 0.15));
  const instruction = pick(rng, TAG_INSTRUCTIONS[lang]);
  const [user, assistant] = lang === 'en' ? ['User', 'Assistant'] : ['Usuario', 'Asistente'];
  if (form === 4) {
    const turns = Array.from({ length: randInt(rng, 1, 2) }, () => quiz(rng, lang));
    const log = turns
      .map((x) => `${user}: ${x.q} ${assistant}: ${uniform(rng) < PLAIN_TAGGED_REPLY_SHARE ? tagged(x) : x.notes}`)
      .join('\n');
    return `${pick(rng, TAG_PREAMBLES[lang])} ${log}`;
  }
  if (form === 0) {
    const x = quiz(rng, lang);
    return `${instruction}\n${x.q}\n${tagged(x)}`;
  }
  if (form === 1) {
    const x = quiz(rng, lang);
    return `${user}: ${x.q} ${instruction} ${assistant}: ${tagged(x)}`;
  }
  if (form === 2) {
    const items = Array.from({ length: randInt(rng, 2, 4) }, () => quiz(rng, lang));
    return `<quiz>\n${items.map((x) => `<question>${x.q}</question>\n<answer>${x.a}</answer>`).join('\n')}\n</quiz>`;
  }
  const items = Array.from({ length: randInt(rng, 1, 3) }, () => quiz(rng, lang));
  return items.map((x) => `<note>${x.notes}</note>`).join('\n');
}

// ---- the rule the plain style keeps

/** A distinctive piece of the R1-Zero template (its first sentence). */
const TEMPLATE_START = R1_ZERO_TEMPLATE.slice(0, R1_ZERO_TEMPLATE.indexOf('.') + 1);

/** A pattern for the start of a task question: its text up to the first number, then a number (`What is \d`). */
function questionPattern(prompt: string): RegExp {
  const at = prompt.search(/[-(\d]/);
  const head = (at < 0 ? prompt : prompt.slice(0, at)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${head}[-(\\d]`);
}

let questions: RegExp[] | null = null;

/** Patterns of the built-in tasks' questions in both languages (from a few problems of each). */
export function taskQuestionPatterns(): readonly RegExp[] {
  if (questions) return questions;
  const seen = new Map<string, RegExp>();
  for (const task of Object.values(TASKS)) {
    for (const lang of LANGUAGES) {
      for (let i = 0; i < 4; i++) {
        const re = questionPattern(task.problemAt(i, { lang, difficulty: task.difficulty.corpus }).prompt);
        seen.set(re.source, re);
      }
    }
  }
  questions = [...seen.values()];
  return questions;
}

/**
 * Whether a document breaks the plain style's rule: it holds the R1-Zero template (its first sentence), or a task
 * solution inside `<think>` / `<answer>`: a `<think>` or `<answer>` tag after a task's question
 * (`taskQuestionPatterns`), or a tagged span (`<think>` to `</think>`, `<answer>` to `</answer>`) that holds a
 * calculation (`A op B = R`) or an equation in x.
 */
export function templatedOrTaggedSolution(text: string): boolean {
  if (text.includes(TEMPLATE_START)) return true;
  if (!/<(think|answer)>/.test(text)) return false;
  for (const re of taskQuestionPatterns()) {
    const m = re.exec(text);
    if (m && /<(think|answer)>/.test(text.slice(m.index))) return true;
  }
  for (const m of text.matchAll(/<(think|answer)>([\s\S]*?)(?:<\/\1>|$)/g)) {
    if (holdsTaskWork(m[2])) return true;
  }
  return false;
}

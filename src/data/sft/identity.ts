/**
 * `identity`: self-cognition ("Who are you?" -> the model's name and maker), as R1's stage-3 SFT data includes.
 * Twenty questions, each in English and Spanish, ask for the name, the maker, or both; the check wants what was
 * asked for (the name, written as is; the maker). The split is by question (the same question in either language is
 * in one split).
 *
 * The identity is `DEFAULT_IDENTITY` (Tiny-R1, made by r1ts) unless a caller binds another with `identityTask`.
 *
 * Not here: the other non-reasoning tasks (factqa.ts, translate.ts, writing.ts).
 */
import type { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import { choose, defineSftTask, mentions, type SftTask } from './task.js';

/** Who the model says it is. */
export interface Identity {
  /** The model's name (`Tiny-R1`). */
  name: string;
  /** Who made it (`r1ts`). */
  maker: string;
}

export const DEFAULT_IDENTITY: Identity = { name: 'Tiny-R1', maker: 'r1ts' };

type Asks = 'name' | 'maker' | 'both';

/** [key, what it asks, English, Spanish] */
const QUESTIONS: readonly [string, Asks, string, string][] = [
  ['who-are-you', 'both', 'Who are you?', '¿Quién eres?'],
  ['your-name', 'name', 'What is your name?', '¿Cómo te llamas?'],
  ['who-made-you', 'maker', 'Who made you?', '¿Quién te creó?'],
  ['who-trained-you', 'maker', 'Which company or project trained you?', '¿Qué empresa o proyecto te entrenó?'],
  ['introduce', 'both', 'Introduce yourself.', 'Preséntate.'],
  ['call-you', 'name', 'What should I call you?', '¿Cómo debo llamarte?'],
  ['chatgpt', 'both', 'Are you ChatGPT?', '¿Eres ChatGPT?'],
  ['developed', 'maker', 'Who developed you?', '¿Quién te desarrolló?'],
  ['about-you', 'both', 'Tell me about yourself.', 'Háblame de ti.'],
  ['have-name', 'name', 'Do you have a name?', '¿Tienes nombre?'],
  ['what-assistant', 'both', 'What kind of assistant are you?', '¿Qué tipo de asistente eres?'],
  ['built', 'maker', 'Who built you?', '¿Quién te construyó?'],
  ['human', 'both', 'Are you a human?', '¿Eres una persona?'],
  ['name-please', 'name', 'Tell me your name, please.', 'Dime tu nombre, por favor.'],
  ['talking-to', 'both', 'Who am I talking to?', '¿Con quién estoy hablando?'],
  ['come-from', 'maker', 'Where do you come from?', '¿De dónde vienes?'],
  ['which-model', 'both', 'Which model are you?', '¿Qué modelo eres?'],
  ['openai', 'maker', 'Were you made by OpenAI?', '¿Te hizo OpenAI?'],
  ['name-again', 'name', 'Sorry, what was your name again?', 'Perdona, ¿cómo dijiste que te llamabas?'],
  ['what-are-you', 'both', 'What are you?', '¿Qué eres?'],
];

/** The answers, by what is asked: `{n}` is the name, `{m}` the maker. */
const ANSWERS: Record<Lang, Record<Asks, readonly string[]>> = {
  en: {
    name: ['My name is {n}.', 'I am {n}.', 'You can call me {n}.'],
    maker: ['I was made by {m}.', '{m} trained me. I am {n}.', 'I am {n}, a language model made by {m}.'],
    both: ['I am {n}, a small language model made by {m}.', "I'm {n}, an assistant trained by {m}."],
  },
  es: {
    name: ['Me llamo {n}.', 'Soy {n}.', 'Puedes llamarme {n}.'],
    maker: ['Me creó {m}.', 'Me entrenó {m}. Soy {n}.', 'Soy {n}, un modelo de lenguaje creado por {m}.'],
    both: ['Soy {n}, un pequeño modelo de lenguaje creado por {m}.', 'Soy {n}, un asistente entrenado por {m}.'],
  },
};

/** Other identities a wrong answer claims. */
const OTHERS: readonly Identity[] = [
  { name: 'ChatGPT', maker: 'OpenAI' },
  { name: 'Gemini', maker: 'Google' },
  { name: 'Llama', maker: 'Meta' },
];

export interface IdentityData {
  key: string;
  asks: Asks;
  question: Record<Lang, string>;
}

const fill = (template: string, id: Identity) => template.replace('{n}', id.name).replace('{m}', id.maker);

/** The self-cognition task for `identity`. */
export function identityTask(identity: Identity = DEFAULT_IDENTITY): SftTask<IdentityData> {
  const has = (answer: string, what: string) => mentions(answer, what);
  return defineSftTask<IdentityData>({
    name: 'identity',
    description: `self-cognition: the model's name (${identity.name}) and maker (${identity.maker})`,
    testPercent: 25,
    sample(rng: Generator) {
      const [key, asks, en, es] = choose(rng, QUESTIONS);
      return { key: `identity:${key}`, data: { key, asks, question: { en, es } } };
    },
    render: (d, lang, rng) => ({
      prompt: d.question[lang],
      reference: fill(choose(rng, ANSWERS[lang][d.asks]), identity),
    }),
    check: (d, _lang, answer) =>
      (d.asks === 'maker' || has(answer, identity.name)) && (d.asks === 'name' || has(answer, identity.maker)),
    corrupt: (d, lang, rng) => fill(choose(rng, ANSWERS[lang][d.asks]), choose(rng, OTHERS)),
  });
}

export const identitySftTask = identityTask();

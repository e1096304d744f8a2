// Rejection sampling: each stage's effect on hand-written responses (kept or dropped, and why), the counts, the
// records' provenance and format (they load as SFT examples), scorer-driven best-of-k and threshold, the held-out
// refusal, and sampling a micro model: deterministic for a seed, independent of the batch size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineqTask } from '../../src/data/tasks/index.js';
import { SFT_TASKS, sftResponse } from '../../src/data/sft/index.js';
import type { ChatMessage } from '../../src/data/chat.js';
import { loadModelAndTokenizer } from '../../src/io/load.js';
import { toChatExample } from '../../src/posttrain/chat_data.js';
import {
  type ResponseScorer,
  type SampledResponse,
  keepRuleText,
  parseFilters,
  parseKeepRule,
  recordsJsonl,
  rejectionSample,
  renderSamplePrompt,
  scoredText,
  selectResponses,
} from '../../src/posttrain/sample.js';
import { type SamplePrompt, recordPrompt, taskPrompts } from '../../src/posttrain/sample_prompts.js';
import { writeToyModelDir } from '../cli/helpers.js';

const [problem] = lineqTask.problems(1, { split: 'train' });
const right = lineqTask.solution(problem); // <think>\n...\n</think>\n<answer>-19</answer>
const wrong = right.replace(`<answer>${problem.answer}</answer>`, '<answer>7</answer>');
const done = (response: string): SampledResponse => ({ response, finish: 'stop' });

describe('rejection sampling: the stages on hand-written responses', () => {
  const [prompt] = taskPrompts(['lineq'], { n: 1 });

  it('the task prompt is the problem the task checks, and its checker takes the worked solution only', () => {
    assert.equal(prompt.id, problem.id);
    assert.deepEqual(prompt.messages, [{ role: 'user', content: problem.prompt }]);
    assert.equal(prompt.check!(right), true);
    assert.equal(prompt.check!(wrong), false);
    // the answer must come after </think>, as GRPO's accuracy reward and evaluation read it
    assert.equal(prompt.check!(`<answer>${problem.answer}</answer>`), false);
  });

  it('each stage drops what it should, with its reason, and the counts add up', () => {
    const responses: SampledResponse[] = [
      done(right), // 0 kept
      { response: right.slice(0, 40), finish: 'length' }, // 1 complete: cut off by the token budget
      done('   '), // 2 complete: empty
      done(right.replace('Add 21 to both sides', 'Sumamos 21 en ambos lados, dividimos entre los dos')), // 3 language
      done(right.replace('Check:', `${'Then we check it again. '.repeat(30)}Check:`)), // 4 paragraphs (a 720-char line)
      done(right.replace('</think>', '```\nx = 57 / -3\n```\n</think>')), // 5 code
      done(`${problem.answer}`), // 6 format (no chain of thought)
      done(wrong), // 7 correct
      done(`${right}\n`), // 8 duplicate of 0 (identical after trimming)
    ];
    const sel = selectResponses([prompt], [responses], { keep: 'correct' });
    assert.deepEqual(
      sel.verdicts.map((v) => v.dropped),
      [null, 'complete', 'complete', 'language', 'paragraphs', 'code', 'format', 'correct', 'duplicate'],
    );
    // each check is judged on its own: the cut-off response also fails format and correct; the bare answer only format
    // and correct (it has no </think>, so its answer does not count)
    assert.deepEqual(sel.verdicts[1].failed, ['complete', 'format', 'correct']);
    assert.deepEqual(sel.verdicts[6].failed, ['format', 'correct']);
    assert.deepEqual(sel.counts.passed, {
      complete: 7,
      language: 8,
      paragraphs: 8,
      code: 8,
      format: 6,
      correct: 5,
    });
    assert.deepEqual(sel.counts.dropped, {
      complete: 2,
      language: 1,
      paragraphs: 1,
      code: 1,
      format: 1,
      correct: 1,
      duplicate: 1,
    });
    assert.equal(sel.counts.kept, 1);
    assert.equal(sel.counts.samples - sel.counts.kept, 8);
    assert.deepEqual([sel.counts.prompts, sel.counts.promptsKept], [1, 1]);
    assert.equal(sel.records.length, 1);
    assert.equal(sel.records[0].messages[1].content, right);
  });

  it('a code task may hold code blocks; --filters none and keep all keep every complete, distinct response', () => {
    const code = right.replace('</think>', '```\nx = 57 / -3\n```\n</think>');
    const codePrompt: SamplePrompt = { ...prompt, codeTask: true };
    assert.equal(selectResponses([codePrompt], [[done(code)]]).counts.kept, 1);
    const all = selectResponses([prompt], [[done(wrong), done(code), done('42'), done('42'), done('')]], {
      keep: 'all',
      filters: 'none',
    });
    assert.deepEqual(
      all.verdicts.map((v) => v.dropped),
      [null, null, null, 'duplicate', 'complete'],
    );
    assert.deepEqual(all.counts.passed, { complete: 4, correct: 1 });
    // correctness is recorded even when the rule does not ask for it
    assert.deepEqual(
      all.records.map((r) => r.correct),
      [false, true, false],
    );
  });

  it('an SFT task is judged by its own check, in its language', () => {
    const [item] = SFT_TASKS.factqa.items(1, { split: 'train', lang: 'es' });
    const [p] = taskPrompts(['factqa'], { n: 1, lang: 'es' });
    assert.equal(p.id, item.id);
    assert.equal(p.lang, 'es');
    const sel = selectResponses(
      [p],
      [[done(sftResponse(item.reference)), done(sftResponse('No lo sé.')), done(item.reference)]],
    );
    assert.deepEqual(
      sel.verdicts.map((v) => v.dropped),
      [null, 'correct', 'format'],
    );
  });

  it('records carry their provenance and load as SFT examples', () => {
    const sel = selectResponses([prompt], [[done(wrong), done(right)]], {
      provenance: { model: 'runs/tiny/model', template: 'r1-zero', seed: 7, temperature: 0.6, topP: 0.9 },
    });
    const [rec] = sel.records;
    assert.deepEqual(
      { ...rec, messages: undefined },
      {
        messages: undefined,
        task: 'lineq',
        id: problem.id,
        split: 'train',
        lang: 'en',
        model: 'runs/tiny/model',
        template: 'r1-zero',
        seed: 7,
        temperature: 0.6,
        top_p: 0.9,
        sample: 1,
        correct: true,
        score: null,
      },
    );
    const line = recordsJsonl(sel.records).trimEnd();
    const ex = toChatExample(JSON.parse(line) as Record<string, unknown>, 'data.jsonl:1');
    assert.deepEqual(ex.prompt, [{ role: 'user', content: problem.prompt }]);
    assert.deepEqual(ex.completion, [{ role: 'assistant', content: right }]);
  });
});

describe('rejection sampling: scores, rules and refusals', () => {
  const prompts = taskPrompts(['lineq'], { n: 2 });
  const [p0, p1] = prompts;
  const rightOf = (p: SamplePrompt) => {
    const [prob] = lineqTask.problems(2, { split: 'train' }).filter((x) => x.id === p.id);
    return lineqTask.solution(prob);
  };
  // a scorer written here: the number in the summary's first sentence, if any ("Score 3."), else 0
  const seen: { prompts: ChatMessage[][]; responses: string[] }[] = [];
  const scorer: ResponseScorer = (ps, rs) => {
    seen.push({ prompts: ps, responses: rs });
    return Float64Array.from(rs, (r) => Number(/Score (\d+)/.exec(r)?.[1] ?? 0));
  };
  const scored = (p: SamplePrompt, s: number, extra = '') =>
    done(rightOf(p).replace('</think>', `${extra}</think>`).concat(`\nScore ${s}.`));

  it('best-of-k keeps the best-scored response of each prompt (ties: the first), scoring the summary', () => {
    seen.length = 0;
    const sel = selectResponses(
      [p0, p1],
      [
        [scored(p0, 2), scored(p0, 5, 'a '), scored(p0, 5, 'b ')],
        [scored(p1, 1), done(wrong)],
      ],
      { keep: 'best-of-k', scorer, filters: 'none' },
    );
    assert.deepEqual(
      sel.verdicts.map((v) => [v.prompt, v.sample, v.dropped, v.score]),
      [
        [0, 0, 'best-of-k', 2],
        [0, 1, null, 5],
        [0, 2, 'best-of-k', 5],
        [1, 0, null, 1],
        [1, 1, 'best-of-k', 0],
      ],
    );
    // one call for the batch; the scorer saw the prompts and the summaries only (rm part 'summary')
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].prompts[3], p1.messages);
    assert.equal(
      seen[0].responses[0],
      `<answer>${lineqTask.problems(1, { split: 'train' })[0].answer}</answer>\nScore 2.`,
    );
    assert.ok(seen[0].responses.every((r) => !r.includes('<think>')));
    assert.deepEqual(
      sel.records.map((r) => [r.id, r.sample, r.score, r.correct]),
      [
        [p0.id, 1, 5, true],
        [p1.id, 0, 1, true],
      ],
    );
  });

  it('threshold keeps scores at or above x; rules combine with correct; rm part all scores the whole response', () => {
    seen.length = 0;
    const outs = [[scored(p0, 2), scored(p0, 3, 'a '), scored(p0, 4, 'b '), done(`${wrong}\nScore 9.`)]];
    const th = selectResponses([p0], outs, { keep: 'threshold:3', scorer, filters: 'none' });
    assert.deepEqual(
      th.verdicts.map((v) => v.dropped),
      ['threshold', null, null, null],
    );
    const both = selectResponses([p0], outs, {
      keep: 'correct,threshold:3,best-of-k',
      scorer,
      filters: 'none',
      rmPart: 'all',
    });
    assert.deepEqual(
      both.verdicts.map((v) => v.dropped),
      ['threshold', 'best-of-k', null, 'correct'],
    );
    assert.deepEqual(both.counts.dropped, { complete: 0, correct: 1, duplicate: 0, threshold: 1, 'best-of-k': 1 });
    // only responses that survived the checks are scored, whole (with the chain of thought)
    assert.equal(seen.at(-1)!.responses.length, 3);
    assert.ok(seen.at(-1)!.responses.every((r) => r.startsWith('<think>')));
  });

  it('scoredText: the summary after the last </think>, or the whole response', () => {
    assert.equal(scoredText('<think>a</think>\n b ', 'summary'), 'b');
    assert.equal(scoredText('<think>a</think> b', 'all'), '<think>a</think> b');
    assert.equal(scoredText('no think', 'summary'), 'no think');
  });

  it('bad rules, filters and scorers are one clear line', () => {
    assert.deepEqual(parseKeepRule('correct,best-of-k'), { correct: true, threshold: null, bestOfK: true });
    assert.deepEqual(parseKeepRule('all'), { correct: false, threshold: null, bestOfK: false });
    assert.equal(keepRuleText(parseKeepRule('best-of-k,threshold:-1.5,correct')), 'correct,threshold:-1.5,best-of-k');
    assert.throws(() => parseKeepRule('best'), /keep rule: 'best' is not one of correct, best-of-k, threshold:X/);
    assert.throws(() => parseKeepRule('threshold:abc'), /keep rule: threshold must be a finite number, got 'abc'/);
    assert.throws(() => parseKeepRule('all,correct'), /'all' is not one of/);
    assert.deepEqual(parseFilters('readable'), ['language', 'paragraphs', 'code', 'format']);
    assert.deepEqual(parseFilters('none'), []);
    assert.deepEqual(parseFilters('format, language'), ['format', 'language']);
    assert.throws(
      () => parseFilters('formats'),
      /filters: 'formats' is not a filter \(language, paragraphs, code, format\); readable/,
    );
    assert.throws(
      () => selectResponses([p0], [[done(right)]], { keep: 'best-of-k' }),
      /keep rule 'best-of-k' needs scores: give a scorer/,
    );
    const open: SamplePrompt = { messages: p0.messages, id: 'q.jsonl:3', where: 'q.jsonl:3' };
    assert.throws(() => selectResponses([open], [[done(right)]]), /'correct' needs a checker, and q.jsonl:3 has none/);
    const bad: ResponseScorer = () => new Float64Array(5);
    assert.throws(
      () => selectResponses([p0], [[done(right)]], { keep: 'all', scorer: bad }),
      /scorer: returned 5 scores for 1 responses/,
    );
    const nan: ResponseScorer = (_, rs) => Float64Array.from(rs, () => Number.NaN);
    assert.throws(() => selectResponses([p0], [[done(right)]], { keep: 'all', scorer: nan }), /scorer: score 0 is NaN/);
  });

  it('refuses held-out prompts unless allowed, naming the prompt and saying why', () => {
    const [test] = taskPrompts(['lineq'], { n: 1, split: 'test' });
    assert.equal(test.split, 'test');
    assert.throws(
      () => selectResponses([p0, test], [[done(right)], [done(right)]]),
      new RegExp(`prompt ${test.id} is from the test split, and held-out problems must never reach training data`),
    );
    const fromFile = recordPrompt({ prompt: 'What is 2 + 2?', split: 'test' }, 'q.jsonl:2');
    assert.throws(
      () => selectResponses([fromFile], [[done(right)]], { keep: 'all' }),
      /q.jsonl:2 is from the test split/,
    );
    assert.equal(selectResponses([test], [[done(right)]], { allowTest: true, keep: 'all' }).records[0].split, 'test');
  });
});

describe('rejection sampling: prompts from records', () => {
  it('reads messages, prompt and question records with an optional answer', () => {
    const m = recordPrompt(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is 6 * 7?' },
          { role: 'assistant', content: '42' },
        ],
        answer: 'The product. #### 42',
        lang: 'en',
        id: 'mul-1',
      },
      'q.jsonl:1',
    );
    assert.deepEqual(
      m.messages.map((x) => x.role),
      ['system', 'user'],
    );
    assert.equal(m.id, 'mul-1');
    assert.equal(m.check!('<think>6 * 7</think>\n<answer>42.0</answer>'), true);
    assert.equal(m.check!('<think>6 * 7</think>\n<answer>41</answer>'), false);
    assert.equal(recordPrompt({ question: 'Hola?' }, 'q.jsonl:2').check, undefined);
    const p = recordPrompt({ prompt: [{ role: 'user', content: 'Hi' }], completion: 'Hello' }, 'q.jsonl:3');
    assert.deepEqual(p.messages, [{ role: 'user', content: 'Hi' }]);
  });

  it('bad records name the file and line', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ text: 'x' }, /^q.jsonl:4: expected "messages", "prompt" or "question" \(fields: text\)$/],
      [{ prompt: '  ' }, /^q.jsonl:4: "prompt" is empty$/],
      [{ messages: [{ role: 'assistant', content: 'x' }] }, /^q.jsonl:4: the prompt has no user turn$/],
      [{ messages: [{ role: 'bot', content: 'x' }] }, /^q.jsonl:4: messages\[0\]: role "bot"/],
      [{ prompt: 'x', answer: [1] }, /^q.jsonl:4: "answer" must be a string or a number$/],
      [{ prompt: 'x', lang: 'fr' }, /^q.jsonl:4: "lang" must be en or es, got "fr"$/],
      [{ prompt: 'x', split: 'dev' }, /^q.jsonl:4: "split" must be train or test, got "dev"$/],
      [{ prompt: 'x', code_task: 'yes' }, /^q.jsonl:4: "code_task" must be true or false$/],
    ];
    for (const [rec, re] of bad) assert.throws(() => recordPrompt(rec, 'q.jsonl:4'), { message: re });
  });

  it('task prompts: several tasks, --lang mix decided per problem, unknown tasks named', () => {
    const ps = taskPrompts(['lineq', 'identity'], { n: 6, lang: 'mix' });
    assert.equal(ps.length, 12);
    assert.deepEqual([...new Set(ps.map((p) => p.task))], ['lineq', 'identity']);
    const langs = ps.slice(0, 6).map((p) => p.lang);
    assert.ok(langs.includes('en') && langs.includes('es'), `lineq languages ${langs}`);
    // a problem keeps its language whatever n is, and its prompt is in that language
    const more = taskPrompts(['lineq'], { n: 12, lang: 'mix' });
    assert.deepEqual(
      more.slice(0, 6).map((p) => [p.id, p.lang, p.messages[0].content]),
      ps.slice(0, 6).map((p) => [p.id, p.lang, p.messages[0].content]),
    );
    assert.throws(() => taskPrompts(['lineqq']), /sample: unknown task 'lineqq' \(reasoning: add, .*; SFT: factqa/);
  });
});

describe('rejection sampling: a micro model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-sample-'));
  let loaded: ReturnType<typeof loadModelAndTokenizer> | null = null;
  const get = async () => {
    if (!loaded) {
      await writeToyModelDir(dir, { problems: 20 });
      loaded = loadModelAndTokenizer(dir);
    }
    return loaded;
  };
  const prompts = taskPrompts(['add'], { n: 3, difficulty: 1 });

  it("the chat template: R1's generation prompt forces <think>\\n, which starts every response", async () => {
    const { tok } = await get();
    const r = renderSamplePrompt(tok, prompts[0].messages, 'chat', 'p');
    assert.equal(r.prefix, '<think>\n');
    assert.ok(r.text.endsWith(`<｜User｜>${prompts[0].messages[0].content}<｜Assistant｜><think>\n`));
    const z = renderSamplePrompt(tok, prompts[0].messages, 'r1-zero', 'p');
    assert.equal(z.prefix, '');
    assert.match(z.text, /^A conversation between User and Assistant\. .* Assistant:$/);
    assert.throws(
      () => renderSamplePrompt(tok, [{ role: 'system', content: 's' }, ...prompts[0].messages], 'r1-zero', 'q.jsonl:2'),
      /q.jsonl:2: the r1-zero template takes one user turn, got 2 turns/,
    );
  });

  it('k samples per prompt; the same seed gives the same records whatever the batch size', async () => {
    const { model, tok } = await get();
    const opts = {
      k: 3,
      maxTokens: 12,
      keep: 'all',
      filters: 'none',
      seed: 5,
      model: 'toy',
      template: 'chat',
    } as const;
    const a = rejectionSample(model, tok, prompts, { ...opts, batchSize: 64 });
    const b = rejectionSample(model, tok, prompts, { ...opts, batchSize: 3 });
    assert.equal(a.verdicts.length, 9);
    assert.deepEqual(a.verdicts, b.verdicts);
    assert.deepEqual(a.records, b.records);
    assert.ok(a.verdicts.every((v) => v.response.startsWith('<think>')));
    assert.ok(a.records.every((r) => r.model === 'toy' && r.seed === 5 && r.template === 'chat'));
    const c = rejectionSample(model, tok, prompts, { ...opts, seed: 6 });
    assert.notDeepEqual(
      c.verdicts.map((v) => v.response),
      a.verdicts.map((v) => v.response),
    );
    // the counts of the whole run are those of one selection over the same responses
    const again = selectResponses(
      prompts,
      prompts.map((_, j) =>
        a.verdicts.filter((v) => v.prompt === j).map((v) => ({ response: v.response, finish: v.finish })),
      ),
      { keep: 'all', filters: 'none' },
    );
    assert.deepEqual(again.counts, a.counts);
  });

  it('progress every N prompts, and refusals before anything is generated', async () => {
    const { model, tok } = await get();
    const seen: number[] = [];
    rejectionSample(model, tok, taskPrompts(['add'], { n: 5, difficulty: 1 }), {
      k: 2,
      maxTokens: 4,
      keep: 'all',
      batchSize: 2,
      progressEvery: 2,
      onProgress: (p) => seen.push(p.done),
    });
    assert.deepEqual(seen, [2, 4, 5]);
    const test = taskPrompts(['add'], { n: 1, split: 'test', difficulty: 1 });
    assert.throws(() => rejectionSample(model, tok, test, { k: 2 }), /is from the test split/);
    assert.throws(
      () => rejectionSample(model, tok, prompts, { k: 2, maxTokens: 500 }),
      /sample: prompt add:.*: \d+ prompt tokens \+ 500 new tokens = \d+ positions, more than the model's context of 512/,
    );
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});

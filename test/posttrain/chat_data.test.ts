// Chat records and the assistant-only loss mask: which tokens carry loss under R1's template and a ChatML template,
// and one clear line per malformed record.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer } from '../../src/data/tokenizer.js';
import type { ChatMessage } from '../../src/data/chat.js';
import { toChatExample, toPreferenceExample, tokenizeChat } from '../../src/posttrain/chat_data.js';

const CHATML =
  "{%- for m in messages -%}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' -}}{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

async function tokenizer(chatTemplate?: string): Promise<Tokenizer> {
  const texts = [
    'What is 2 + 3? <think>\nadd them\n</think>\nThe answer is 5.',
    'Hello there, who are you? I am r1ts.',
  ];
  const specials = chatTemplate
    ? [
        { content: '<|endoftext|>' },
        { content: '<|im_end|>' },
        { content: '<|im_start|>' },
        { content: '<think>', special: false },
        { content: '</think>', special: false },
      ]
    : undefined;
  return Tokenizer.train(texts, { vocabSize: 300, chatTemplate, specialTokens: specials });
}

/** The text of the loss-carrying tokens, turn by turn (runs of consecutive loss tokens). */
function trained(tok: Tokenizer, ids: number[], loss: Uint8Array): string[] {
  const out: string[] = [];
  let run: number[] = [];
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && loss[i]) run.push(ids[i]);
    else if (run.length) {
      out.push(tok.decode(run));
      run = [];
    }
  }
  return out;
}

describe('chat data: records and the assistant-only loss mask', () => {
  it("R1's template: the answer after the forced <think>\\n and the end-of-sentence token carry loss, nothing else", async () => {
    const tok = await tokenizer();
    const msgs: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 2 + 3?' },
      { role: 'assistant', content: '<think>\nadd them\n</think>\nThe answer is 5.' },
    ];
    const t = tokenizeChat(tok, msgs, 'x.jsonl:1');
    assert.deepEqual(trained(tok, t.ids, t.loss), ['add them\n</think>\nThe answer is 5.<｜end▁of▁sentence｜>']);
    assert.equal(t.untrainedTurns, 0);
    // a turn without the forced prefix: everything after the role header is trained
    const plain = tokenizeChat(tok, [msgs[1], { role: 'assistant', content: 'Five.' }], 'x.jsonl:2');
    assert.deepEqual(trained(tok, plain.ids, plain.loss), ['Five.<｜end▁of▁sentence｜>']);
  });

  it("an empty think block after R1's forced <think>\\n: the token that straddles the boundary (\\n\\n) is trained", async () => {
    const tok = await Tokenizer.train(['<think>\n\n</think>\n\nHello.\n\nHi.\n\n'], { vocabSize: 280 });
    const msgs: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '<think>\n\n</think>\n\nHello.' },
    ];
    const t = tokenizeChat(tok, msgs, 'x.jsonl:4');
    const nl2 = tok.encode('\n\n', { addSpecialTokens: false });
    assert.equal(nl2.length, 1, 'the tokenizer merges \\n\\n into one token');
    const trainedText = trained(tok, t.ids, t.loss);
    assert.deepEqual(trainedText, ['\n\n</think>\n\nHello.<｜end▁of▁sentence｜>']);
  });

  it("R1's template drops earlier turns' reasoning: those turns stay in the context without loss", async () => {
    const tok = await tokenizer();
    const t = tokenizeChat(
      tok,
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '<think>\nhm\n</think>\nHello.' },
        { role: 'user', content: 'Who are you?' },
        { role: 'assistant', content: 'I am r1ts.' },
      ],
      'x.jsonl:3',
    );
    assert.deepEqual(trained(tok, t.ids, t.loss), ['I am r1ts.<｜end▁of▁sentence｜>']);
    assert.equal(t.untrainedTurns, 1);
    assert.ok(!tok.decode(t.ids).includes('hm'), 'the earlier reasoning is not in the context');
  });

  it('a ChatML template (prefix-stable): every assistant turn carries loss, role headers and user turns do not', async () => {
    const tok = await tokenizer(CHATML);
    const t = tokenizeChat(
      tok,
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Who are you?' },
        { role: 'assistant', content: 'I am r1ts.' },
      ],
      'x.jsonl:4',
    );
    assert.deepEqual(trained(tok, t.ids, t.loss), ['Hello.<|im_end|>\n', 'I am r1ts.<|im_end|>\n']);
    assert.equal(t.untrainedTurns, 0);
  });

  it('records: messages, prompt/completion, pairs (explicit and implicit prompt); bad records name the line', () => {
    const ex = toChatExample({ prompt: 'Q?', completion: 'A.' }, 'd.jsonl:1');
    assert.deepEqual(ex.prompt, [{ role: 'user', content: 'Q?' }]);
    assert.deepEqual(ex.completion, [{ role: 'assistant', content: 'A.' }]);
    const m = toChatExample(
      {
        messages: [
          { role: 'user', content: 'Q?' },
          { role: 'assistant', content: 'A.' },
        ],
      },
      'd.jsonl:2',
    );
    assert.equal(m.prompt.length, 1);
    const p = toPreferenceExample(
      {
        chosen: [
          { role: 'user', content: 'Q?' },
          { role: 'assistant', content: 'Good.' },
        ],
        rejected: [
          { role: 'user', content: 'Q?' },
          { role: 'assistant', content: 'Bad.' },
        ],
      },
      'p.jsonl:1',
    );
    assert.deepEqual(p.prompt, [{ role: 'user', content: 'Q?' }]);
    assert.deepEqual(p.rejected, [{ role: 'assistant', content: 'Bad.' }]);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ messages: [{ content: 'x' }] }, /^Error: d\.jsonl:9: messages\[0\]: "role" must be a string$/],
      [{ messages: [{ role: 'tool', content: 'x' }] }, /role "tool" is not one of system, user, assistant/],
      [
        {
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: ' ' },
          ],
        },
        /^Error: d\.jsonl:9: messages\[1\]: empty assistant content$/,
      ],
      [{ messages: [{ role: 'user', content: 'x' }] }, /must end with an assistant turn/],
      [{ text: 'x' }, /expected \{"messages": \[\.\.\.\]\} or \{"prompt", "completion"\}/],
      [{ prompt: 'x', completion: '' }, /"completion" is empty/],
    ];
    for (const [rec, re] of bad) assert.throws(() => toChatExample(rec, 'd.jsonl:9'), re);
    assert.throws(
      () => toPreferenceExample({ prompt: 'Q', chosen: 'same', rejected: 'same' }, 'p.jsonl:3'),
      /^Error: p\.jsonl:3: "chosen" and "rejected" are identical/,
    );
    assert.throws(
      () => toPreferenceExample({ prompt: 'Q', chosen: 'a' }, 'p.jsonl:4'),
      /needs "chosen" and "rejected"/,
    );
  });

  it('a template that fails to render names the record', async () => {
    const tok = await tokenizer('{{ messages[0].content | no_such_filter }}');
    assert.throws(
      () =>
        tokenizeChat(
          tok,
          [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: 'y' },
          ],
          'bad.jsonl:5',
        ),
      /^Error: bad\.jsonl:5: chat template: /,
    );
  });
});

/**
 * Property-based tests (fast-check, fixed seeds, bounded runs) of the parsers that read untrusted files: the
 * safetensors header and tensors, config.json, tokenizer.json and the two JSONL readers. Random and mutated inputs
 * must give a value or an Error whose one-line message names the input, never a hang (each run has a 5 s budget in a
 * worker thread), a crash (a non-Error throw, a stack overflow, a RangeError from deep inside a typed-array
 * constructor: anything not naming the input) or an allocation beyond the stated bound (a 512 MB heap for the worker;
 * loaded tensors at most 4x the file's bytes). Each value must also be right: a config's sizes and epsilons are
 * usable, a tokenizer's ids map back to their tokens, a JSONL reader returns exactly the well-formed records or
 * fails on the first bad line with `file:line: ...`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { gsm8kAnswer } from '../../src/rl/problems.js';
import { TINY_DEEPSEEK_JSON, TINY_DENSE_JSON } from '../models/helpers.js';
import { Sandbox, type Outcome } from './sandbox.js';
import { tmpDir } from './helpers.js';

// ---- JSON fragments, deep nesting included (built as text: JSON.stringify would overflow the stack on them) --------

/** A JSON text to splice into a document, printed by its short label in fast-check's counterexamples. */
class Frag {
  constructor(
    readonly text: string,
    readonly label: string = text,
  ) {}
  [fc.toStringMethod](): string {
    return this.label.length > 60 ? `${this.label.slice(0, 57)}...` : this.label;
  }
}
const frag = (text: string, label?: string) => new Frag(text, label);
const deepArray = (d: number) => frag(`${'['.repeat(d)}${']'.repeat(d)}`, `[[[...]]] ${d} deep`);
const deepObject = (d: number) => frag(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`, `{"a":{"a":...}} ${d} deep`);

/** JSON texts that hostile files put where a value is expected. */
const fragment: fc.Arbitrary<Frag> = fc.oneof(
  fc
    .constantFrom(
      'null',
      '0',
      '-1',
      '1',
      '2',
      '0.5',
      '1e-7',
      '-1e-6',
      '1e300',
      '-1e300',
      '9007199254740993',
      '4294967296',
      '2097152',
      'true',
      'false',
      '""',
      '"x"',
      '"F32"',
      '"BF16"',
      '"I32"',
      '"yarn"',
      '"silu"',
      '[]',
      '{}',
      '[0]',
      '[1,2]',
      '[2,3]',
      '[-1]',
      '[0,4]',
      '[1e20,1e20]',
      '[4294967296,4294967296]',
      '{"type":"yarn","factor":0,"original_max_position_embeddings":4096}',
      '{"type":"Sequence","pretokenizers":[]}',
    )
    .map((t) => frag(t)),
  fc.constant(frag(`"${'x'.repeat(5000)}"`, '"xxx..." (5000 chars)')),
  fc.constant(frag(`[${'1,'.repeat(50_000)}1]`, '[1,1,...] (50001 ones)')),
  fc.integer({ min: 8000, max: 30_000 }).map(deepArray),
  fc.integer({ min: 8000, max: 30_000 }).map(deepObject),
  fc.json({ maxDepth: 3 }).map((t) => frag(t)),
  fc.json({ maxDepth: 3 }).map((t) => frag(t)),
);

/** JSON text of `value` with the strings `\u0000k` replaced by `frags[k]` (so that fragments may be any JSON text). */
function withFragments(value: unknown, frags: readonly Frag[]): string {
  return JSON.stringify(value).replace(/"\\u0000(\d+)"/g, (_, k) => frags[Number(k)].text);
}
const slot = (k: number) => `\u0000${k}`;

/** An edit at a path of a JSON object: set the value there to fragment `frag`, or delete it. */
interface Edit {
  path: readonly string[];
  frag: Frag;
  del: boolean;
}

/** Applies edits to a deep copy of `base`, returning JSON text. */
function edited(base: unknown, edits: readonly Edit[]): string {
  const root = structuredClone(base) as Record<string, unknown>;
  const frags: Frag[] = [];
  for (const e of edits) {
    let o: Record<string, unknown> = root;
    for (const k of e.path.slice(0, -1)) {
      if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    const last = e.path[e.path.length - 1];
    if (e.del) delete o[last];
    else {
      o[last] = slot(frags.length);
      frags.push(e.frag);
    }
  }
  return withFragments(root, frags);
}

const editArb = (paths: fc.Arbitrary<readonly string[]>, frag = fragment): fc.Arbitrary<Edit> =>
  fc.record({ path: paths, frag, del: fc.integer({ min: 0, max: 6 }).map((n) => n === 0) });

// ---- outcome checks ------------------------------------------------------------------------------------------------

/** Asserts the run ended with a value (returned) or an Error whose one-line message matches `named`. */
function valueOrNamedError(o: Outcome, named: RegExp, input: string): unknown {
  const show = input.length > 300 ? `${input.slice(0, 300)}... (${input.length} chars)` : input;
  if (o.kind === 'hang') assert.fail(`hang: no answer in ${o.ms} ms for ${show}`);
  if (o.kind === 'crash') assert.fail(`crash (${o.message}) for ${show}`);
  if (o.kind === 'throw') {
    assert.ok(o.isError, `non-Error throw ${o.name}: ${o.message} for ${show}`);
    assert.ok(!o.message.includes('\n'), `message of more than one line: ${o.message}`);
    assert.match(o.message, named, `${o.name} does not name the input: ${o.message.slice(0, 300)} for ${show}`);
    return undefined;
  }
  return o.value;
}

const RUNS = { endOnFailure: true } as const;

/** `arb` in one case of five, else undefined (a mutation that should not mask the others). */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Bytes to parse, printed by the recipe that made them. */
class Case {
  constructor(
    readonly bytes: Uint8Array,
    readonly label: string,
  ) {}
  [fc.toStringMethod](): string {
    return this.label.length > 2000 ? `${this.label.slice(0, 2000)}...` : this.label;
  }
}

describe('hostile: property-based tests of the file parsers (fast-check)', () => {
  const box = new Sandbox(512);
  let dir = '';
  let tokJson: Record<string, unknown>;
  before(async () => {
    dir = tmpDir('props');
    const texts = Array.from({ length: 40 }, (_, i) => `What is ${i} + ${i % 7}? aaa bbb ${i * 3}.`);
    tokJson = (await Tokenizer.train(texts, { vocabSize: 290 })).toJSON();
  });
  after(async () => {
    await box.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('safetensors: any bytes give tensors (at most 4x the file size) or a SafetensorsError naming the file', async () => {
    const DTYPES = ['F32', 'F16', 'BF16', 'I32', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'F64', 'U32'];
    const SIZE: Record<string, number> = {
      F32: 4,
      F16: 2,
      BF16: 2,
      I32: 4,
      I64: 8,
      U8: 1,
      BOOL: 1,
      F8_E4M3: 1,
      F64: 8,
      U32: 4,
    };
    const tensorArb = fc.record({
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    });
    const fileArb = fc
      .record({
        tensors: fc.array(tensorArb, { minLength: 1, maxLength: 4 }),
        edits: fc.array(
          editArb(
            fc.tuple(
              fc.constantFrom('t0', 't0', 't1', 't2', '__metadata__', 'zz'),
              fc.constantFrom('dtype', 'shape', 'shape', 'data_offsets', 'data_offsets', 'k'),
            ),
          ),
          { maxLength: 3 },
        ),
        wholeEntry: rarely(fc.tuple(fc.constantFrom('t0', 't1', '__metadata__'), fragment)),
        lengthPrefix: rarely(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
        flips: fc.oneof(
          { weight: 3, arbitrary: fc.constant([]) },
          { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }) },
        ),
        cut: rarely(fc.nat()),
        seedByte: fc.integer({ min: 0, max: 255 }),
      })
      .map((f) => {
        const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
        let at = 0;
        f.tensors.forEach((t, i) => {
          const n = t.shape.reduce((a, d) => a * d, 1) * SIZE[t.dtype];
          header[`t${i}`] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + n] };
          at += n;
        });
        const frags: Frag[] = [];
        for (const e of f.edits) {
          const entry = (header[e.path[0]] ??= {}) as Record<string, unknown>;
          if (e.del) delete entry[e.path[1]];
          else {
            entry[e.path[1]] = slot(frags.length);
            frags.push(e.frag);
          }
        }
        if (f.wholeEntry) {
          header[f.wholeEntry[0]] = slot(frags.length);
          frags.push(f.wholeEntry[1]);
        }
        const body = new TextEncoder().encode(withFragments(header, frags));
        const out = new Uint8Array(8 + body.length + at).fill(f.seedByte % 2, 8 + body.length);
        new DataView(out.buffer).setBigUint64(0, f.lengthPrefix ?? BigInt(body.length), true);
        out.set(body, 8);
        for (const [pos, v] of f.flips) out[pos % out.length] = v;
        return new Case(f.cut === undefined ? out : out.subarray(0, f.cut % (out.length + 1)), fc.stringify(f));
      });
    const bytesArb = fc.oneof(
      { weight: 4, arbitrary: fileArb },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => new Case(b, fc.stringify(b))) },
    );
    await fc.assert(
      fc.asyncProperty(bytesArb, async ({ bytes }) => {
        const o = await box.run('safetensors', { bytes });
        const show = new TextDecoder().decode(bytes.subarray(0, 400));
        const v = valueOrNamedError(o, /^safetensors: .*\(fuzz\.safetensors\)$/, show) as { bytes: number } | undefined;
        if (v) assert.ok(v.bytes <= 4 * bytes.length, `loaded ${v.bytes} bytes from a ${bytes.length}-byte file`);
      }),
      { seed: 1601, numRuns: 400, ...RUNS },
    );
  });

  it('config.json: a usable config (sizes, eps, theta; null sizes refused; defaults warned) or an error naming the field', async () => {
    const v3 = JSON.parse(fs.readFileSync('configs/deepseek-v3-671b.json', 'utf8'));
    const tinyV3 = { ...TINY_DEEPSEEK_JSON, rms_norm_eps: 1e-6, rope_theta: 10000 };
    const tinyQwen = { ...TINY_DENSE_JSON, max_position_embeddings: 64 };
    const SIZES = [
      'vocab_size',
      'hidden_size',
      'intermediate_size',
      'num_hidden_layers',
      'num_attention_heads',
      'max_position_embeddings',
    ];
    const DS_SIZES = ['moe_intermediate_size', 'n_routed_experts', 'kv_lora_rank', 'v_head_dim', 'qk_rope_head_dim'];
    const keys = [
      ...SIZES,
      ...DS_SIZES,
      'rms_norm_eps',
      'rope_theta',
      'rope_scaling',
      'num_key_value_heads',
      'head_dim',
    ];
    const arb = fc.record({
      base: fc.constantFrom(tinyV3, tinyQwen, v3),
      edits: fc.array(editArb(fc.constantFrom(...keys, 'model_type', 'q_lora_rank', 'weird').map((k) => [k])), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ base, edits }) => {
        const text = edited(base, edits);
        const o = await box.run('config', { text });
        const v = valueOrNamedError(o, /^config \(fuzz\.json\): /, text) as
          | { config: Record<string, unknown>; warnings: string[] }
          | undefined;
        if (!v) return;
        const input = JSON.parse(text) as Record<string, unknown>;
        const c = v.config;
        const sizes = c.model_type === 'qwen2' || c.model_type === 'llama' ? SIZES : [...SIZES, ...DS_SIZES];
        for (const k of sizes) {
          assert.ok(Number.isSafeInteger(c[k]) && (c[k] as number) >= 1, `${k} = ${c[k]} accepted from ${text}`);
          assert.notEqual(input[k], null, `${k}: null accepted (as the default ${c[k]}) from ${text}`);
          if (!(k in input))
            assert.ok(
              v.warnings.some((w) => w.includes(`${k}=`)),
              `${k} defaulted silently: ${text}`,
            );
        }
        for (const k of ['rms_norm_eps', 'rope_theta'])
          assert.ok((c[k] as number) > 0 && Number.isFinite(c[k]), `${k} = ${c[k]} accepted from ${text}`);
        const rs = c.rope_scaling as { factor: number } | null;
        assert.ok(rs === null || rs.factor > 0, `rope_scaling.factor ${rs?.factor} accepted`);
      }),
      { seed: 1611, numRuns: 300, ...RUNS },
    );
  });

  it('tokenizer.json: ids that map back to their tokens, encoding in bounded time, or an error naming the field', async () => {
    const vocab = (tokJson.model as { vocab: Record<string, number> }).vocab;
    const tokens = Object.keys(vocab);
    const added = tokJson.added_tokens as { id: number; content: string }[];
    const idFrag = fc.oneof(
      fc.constantFrom(...Object.values(vocab).slice(0, 50), ...added.map((t) => t.id)).map((id) => frag(String(id))),
      fc.constantFrom('-1', '-5', '2097152', '1e12', '1.5', '"3"', 'null').map((t) => frag(t)),
    );
    const regex = fc.constantFrom(
      '(a+)+$',
      '(a|a)*$',
      '(\\w+\\s?)*$',
      '([ab]*)*$',
      '(?:a|aa){2,}$',
      '\\p{L}+',
      '(ab)+',
      'a{2,3}',
      '[',
    );
    const split = (re: string) =>
      frag(
        JSON.stringify({
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: re }, behavior: 'Isolated' },
            { type: 'ByteLevel', add_prefix_space: false, use_regex: false },
          ],
        }),
        `Split(${re})`,
      );
    const nestedSeq = (field: string, d: number) => {
      const open = `{"type":"Sequence","${field}":[`;
      return frag(`${open.repeat(d)}{"type":"ByteLevel"}${']}'.repeat(d)}`, `Sequence of ${field} ${d} deep`);
    };
    const edit = fc.oneof(
      fc.record({
        path: fc.constantFrom(...tokens.slice(0, 60)).map((t) => ['model', 'vocab', t]),
        frag: idFrag,
        del: fc.constant(false),
      }),
      fc.record({
        path: fc
          .tuple(fc.nat(added.length - 1), fc.constantFrom('id', 'content'))
          .map(([i, f]) => ['added_tokens', String(i), f]),
        frag: fc.oneof(
          idFrag,
          fc.constantFrom(...tokens.slice(0, 40), ...added.map((t) => t.content)).map((t) => frag(JSON.stringify(t))),
        ),
        del: fc.constant(false),
      }),
      fc.record({
        path: fc.constant(['pre_tokenizer']),
        frag: fc.oneof(
          regex.map(split),
          fc.integer({ min: 2000, max: 20_000 }).map((d) => nestedSeq('pretokenizers', d)),
          fragment,
        ),
        del: fc.constant(false),
      }),
      fc.record({
        path: fc.constantFrom(['normalizer'], ['decoder'], ['post_processor']),
        frag: fc.oneof(
          fc.integer({ min: 2000, max: 20_000 }).map((d) => nestedSeq('normalizers', d)),
          fc.integer({ min: 2000, max: 20_000 }).map((d) => nestedSeq('decoders', d)),
          fc.integer({ min: 2000, max: 20_000 }).map((d) => nestedSeq('processors', d)),
          idFrag.map((id) =>
            frag(
              `{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"S"}},{"Sequence":{"id":"A"}}],"special_tokens":{"S":{"ids":[${id.text}]}}}`,
              `TemplateProcessing with ids [${id.text}]`,
            ),
          ),
          fragment,
        ),
        del: fc.boolean(),
      }),
      editArb(
        fc.constantFrom(['model', 'merges', '0'], ['model', 'merges'], ['model', 'vocab'], ['added_tokens'], ['model']),
      ),
    );
    const probes = [
      'a'.repeat(32) + '!',
      `${'ab'.repeat(20)}c`,
      'What is 12 + 34? aaa',
      `${' '.repeat(40)}x`,
      'é漢\n\n',
    ];
    const arb = fc.array(edit, { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(arb, async (edits) => {
        const text = edited(tokJson, edits);
        const o = await box.run('tokenizer', { text, probes });
        const v = valueOrNamedError(o, /^fuzz\.json: /, text) as
          | { vocabSize: number; inconsistent: string[]; encoded: { outOfRange: number[] }[] }
          | undefined;
        if (!v) return;
        assert.deepEqual(
          v.inconsistent,
          [],
          `ids that do not map back to their tokens, accepted from ${text.slice(0, 400)}`,
        );
        for (const e of v.encoded) assert.deepEqual(e.outOfRange, [], `ids outside [0, ${v.vocabSize}) encoded`);
      }),
      { seed: 1614, numRuns: 200, ...RUNS },
    );
  });

  /** JSONL lines: well-formed records, other JSON values, broken JSON, blanks. */
  const lineArb = (good: fc.Arbitrary<string>) =>
    fc.oneof(
      { weight: 5, arbitrary: good },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'null',
          '42',
          '"text"',
          '[1,2]',
          'true',
          '{}',
          '',
          '   ',
          '{"a":',
          '{"text": "x"} y',
        ),
      },
      { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
    );
  const fileArb = (good: fc.Arbitrary<string>) =>
    fc.record({ lines: fc.array(lineArb(good), { maxLength: 8 }), crlf: fc.boolean(), bom: fc.boolean() });
  const render = (f: { lines: string[]; crlf: boolean; bom: boolean }) =>
    (f.bom ? '\uFEFF' : '') + f.lines.join(f.crlf ? '\r\n' : '\n');

  /**
   * What a JSONL reader must do with `text`: the records `take` accepts, or an error at the first bad line with the
   * problem `take` names (`expected an object` for JSON that is not an object).
   */
  function expectJsonl<T>(
    text: string,
    take: (o: Record<string, unknown>) => { ok: T } | { problem: string },
  ): { values: T[] } | { line: number; problem: RegExp } {
    const values: T[] = [];
    const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
      if (!l.trim()) continue;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        return { line: i + 1, problem: /^invalid JSON/ };
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return { line: i + 1, problem: /^expected an object/ };
      const r = take(v as Record<string, unknown>);
      if ('problem' in r) return { line: i + 1, problem: new RegExp(`^${r.problem}`) };
      values.push(r.ok);
    }
    return { values };
  }

  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

  it('JSONL documents (readDocuments): exactly the good records, or `file:line: problem` at the first bad line', async () => {
    const file = path.join(dir, 'docs.jsonl');
    const good = fc.string({ maxLength: 10 }).map((t) => JSON.stringify({ text: t }));
    await fc.assert(
      fc.asyncProperty(fileArb(good), async (f) => {
        const text = render(f);
        fs.writeFileSync(file, text);
        const want = expectJsonl(text, (o) =>
          !Object.hasOwn(o, 'text')
            ? { problem: 'missing field "text"' }
            : typeof o.text !== 'string'
              ? { problem: 'field "text" is not a string' }
              : { ok: o.text },
        );
        const o = await box.run('jsonl-docs', { file });
        const got = valueOrNamedError(o, new RegExp(`^${esc(file)}:\\d+: `), text);
        if ('values' in want) assert.deepEqual(got, want.values, `records of ${JSON.stringify(text)}`);
        else {
          assert.equal(got, undefined, `accepted ${JSON.stringify(text)}`);
          const msg = (o as { message: string }).message;
          assert.match(msg.slice(`${file}:${want.line}: `.length), want.problem, `${msg} for ${JSON.stringify(text)}`);
          assert.ok(msg.startsWith(`${file}:${want.line}: `), `${msg}: wrong line for ${JSON.stringify(text)}`);
        }
      }),
      { seed: 1615, numRuns: 200, ...RUNS },
    );
  });

  it('JSONL problems (loadJsonlProblems): exactly the good problems, or `file:line: problem` at the first bad line', async () => {
    const file = path.join(dir, 'problems.jsonl');
    const good = fc
      .record({ prompt: fc.string({ maxLength: 8 }), answer: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()) })
      .map((p) => JSON.stringify(p));
    await fc.assert(
      fc.asyncProperty(fileArb(good), async (f) => {
        const text = render(f);
        fs.writeFileSync(file, text);
        const want = expectJsonl(text, (o) => {
          const q = o.prompt ?? o.question;
          if (typeof q !== 'string') return { problem: 'needs a string "prompt"' };
          if (typeof o.answer !== 'string' && typeof o.answer !== 'number') return { problem: 'needs an "answer"' };
          return { ok: [q, gsm8kAnswer(String(o.answer))] };
        });
        const o = await box.run('jsonl-problems', { file });
        if ('values' in want && want.values.length === 0) {
          // a file without problems is an error naming it
          if (o.kind === 'throw') assert.equal(o.message, `problems: ${file} has no problems`);
          else assert.fail(`no problems, but ${JSON.stringify(o)} for ${JSON.stringify(text)}`);
          return;
        }
        const got = valueOrNamedError(o, new RegExp(`^${esc(file)}:\\d+: `), text);
        if ('values' in want) assert.deepEqual(got, want.values, `problems of ${JSON.stringify(text)}`);
        else {
          const msg = (o as { message: string }).message;
          assert.ok(
            got === undefined && msg.startsWith(`${file}:${want.line}: `),
            `${msg}: for ${JSON.stringify(text)}`,
          );
          assert.match(msg.slice(`${file}:${want.line}: `.length), want.problem, `${msg} for ${JSON.stringify(text)}`);
        }
      }),
      { seed: 1616, numRuns: 200, ...RUNS },
    );
  });
});

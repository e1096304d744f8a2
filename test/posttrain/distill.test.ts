import { describe, it } from 'node:test';
import { Progress } from '../../src/util/progress.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { R1_CHAT_TEMPLATE } from '../../src/data/chat.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { distill } from '../../src/posttrain/distill.js';
import { taskPrompts } from '../../src/posttrain/sample_prompts.js';
import { writeSftModelDir } from './helpers.js';

// a random micro teacher ends its responses at the first 'e' (a stop string), so responses complete; `all` keeps them
const sampling = { tasks: ['add', 'sort'], n: 3, k: 2, maxTokens: 16, stop: ['e'], keep: 'all', filters: 'none' };
const config = { maxSteps: 2, batch: 2, microBatch: 2, seqLen: 128 };

describe('distill', () => {
  it('samples the teacher on the train split, writes the set with provenance, SFTs and exports the student, resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-distill-'));
    try {
      const teacher = join(dir, 'teacher');
      const student = join(dir, 'student');
      await writeSftModelDir(teacher, 'deepseek', 0);
      await writeSftModelDir(student, 'qwen2', 1);
      // the teacher's own chat template (R1's with a Jinja comment, so that it renders the same): the student gets it
      const template = `{# teacher #}${R1_CHAT_TEMPLATE}`;
      const tcfg = join(teacher, 'tokenizer_config.json');
      writeFileSync(tcfg, JSON.stringify({ ...JSON.parse(readFileSync(tcfg, 'utf8')), chat_template: template }));
      const out = join(dir, 'run');
      const lines: string[] = [];
      const r = await distill({ outDir: out, teacher, student, sampling, config, log: (l) => lines.push(l) });
      assert.equal(r.steps, 2);
      assert.ok(r.counts.kept > 0);

      // the set: train split only, nothing of the test split, each record with its provenance
      const records = readFileSync(join(out, 'distill.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(records.length, r.counts.kept);
      const test = new Set(taskPrompts(['add', 'sort'], { split: 'test', n: 200 }).map((p) => p.id));
      for (const rec of records) {
        assert.equal(rec.split, 'train');
        assert.ok(!test.has(rec.id as string), `${rec.id} is a test problem`);
        assert.equal(rec.model, teacher);
        assert.deepEqual(Object.keys(rec).slice(0, 4), ['messages', 'task', 'id', 'split']);
      }
      assert.deepEqual(new Set(records.map((x) => x.task)), new Set(['add', 'sort']));
      const prov = JSON.parse(readFileSync(join(out, 'distill.json'), 'utf8'));
      assert.equal(prov.teacher, teacher);
      assert.equal(prov.sampling.k, 2);
      assert.equal(prov.counts.samples, 2 * 3 * 2);

      // the student: a Qwen2 in Hugging Face names, with the teacher's chat template
      const cfg = JSON.parse(readFileSync(join(out, 'model', 'config.json'), 'utf8'));
      assert.deepEqual(cfg.architectures, ['Qwen2ForCausalLM']);
      const names = readSafetensorsHeader(join(out, 'model', 'model.safetensors')).tensors.map((t) => t.name);
      assert.ok(names.includes('model.layers.0.self_attn.q_proj.bias'));
      assert.ok(names.includes('model.embed_tokens.weight'));
      const tok = JSON.parse(readFileSync(join(out, 'model', 'tokenizer_config.json'), 'utf8'));
      assert.equal(tok.chat_template, template);
      assert.equal(loadModelDir(join(out, 'model')).config.model_type, 'qwen2');

      // resume: the set is reused, the run goes on; the sampling may not change
      const again: string[] = [];
      const r2 = await distill({ outDir: out, resume: true, config: { maxSteps: 3 }, log: (l) => again.push(l) });
      assert.equal(r2.steps, 3);
      assert.ok(again.some((l) => l.includes('not sampled again')));
      // with a progress sink (as the CLI passes one): step lines and the summary go to it, messages to log
      const shown: string[] = [];
      const pipe = { isTTY: false, write: (t: string) => shown.push(t) };
      const msgs: string[] = [];
      const progress = new Progress({ stream: pipe, logEvery: 1, env: {} });
      await distill({ outDir: out, resume: true, config: { maxSteps: 4 }, log: (l) => msgs.push(l), progress });
      assert.match(shown.join(''), /^step +4\/4 /m);
      assert.match(shown.join(''), /^distill: 4\/4 steps/m);
      assert.ok(!msgs.some((l) => /^step +\d/.test(l)), 'no step line among the messages');
      await assert.rejects(
        distill({ outDir: out, resume: true, sampling: { k: 3 }, log: () => {} }),
        /--k is 3 but the run used 2/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CLI: a missing teacher and a teacher with nothing kept are one line, exit status 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-distill-'));
    try {
      const student = join(dir, 'student');
      await writeSftModelDir(student, 'qwen2', 1);
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'distill', ...args], { encoding: 'utf8' });
      const a = cli('--student', student, '--out', join(dir, 'a'));
      assert.equal(a.status, 1);
      assert.equal(a.stderr, 'r1ts: distill: --teacher is required for a new run\n');
      // a random teacher never answers correctly: the default keep rule leaves nothing to distil
      const b = cli(
        '--teacher',
        student,
        '--student',
        student,
        '--out',
        join(dir, 'b'),
        '--task',
        'add',
        '--n',
        '2',
        '--k',
        '1',
        '--max-tokens',
        '4',
      );
      assert.equal(b.status, 1, b.stderr);
      assert.match(b.stderr, /^r1ts: distill: the teacher .* got no response kept \(2 sampled\); check --template/);
      assert.equal(b.stderr.trim().split('\n').length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

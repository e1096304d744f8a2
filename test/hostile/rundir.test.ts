/**
 * Hostile tests of run directories (issue 16, items 1-8): what a kill, a second writer, a full disk, a corrupt file,
 * a careless re-run, Ctrl-C or too little data do to a run, through the CLI where a user would meet them. Each asserts
 * the exit status, the message and that no work in the run directory was lost.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeepseekV3 } from '../../src/models/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { type StepMetrics, train } from '../../src/train/trainer.js';
import { pretrain } from '../../src/train/pretrain.js';
import { listCheckpoints, saveCheckpoint } from '../../src/train/checkpoint.js';
import { pidAlive } from '../../src/io/lock.js';
import { MICRO_HF_CONFIG, TOY_TRAIN_CONFIG, ToySource, toyConfig } from '../train/fixtures.js';
import { toyGrpoRun } from '../rl/helpers.js';

const micro = MICRO_HF_CONFIG;
/** A pretrain run small enough for a test: 16-token rows, 2 rows a step, a checkpoint every 2 steps. */
const small = {
  seqLen: 16,
  batchStart: 2,
  batchEnd: 2,
  microBatch: 2,
  warmupSteps: 1,
  evalEvery: 2,
  evalBatches: 1,
  checkpointEvery: 2,
};

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts the CLI and sends `signal` once stdout matches `when`; resolves with how it ended. */
function cliSignalled(
  args: string[],
  when: RegExp,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; pid: number }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let sent = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && when.test(out)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('exit', (code, sig) => resolve({ code, signal: sig, out, err, pid: p.pid! }));
  });
}

/** Lines of a run's metrics.jsonl. */
function metrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const curve = (dir: string) => metrics(dir).map((m) => [m.step, m.loss, m.valLoss ?? null, m.lr]);

/** The toy pre-training run of the trainer tests (8 steps, a checkpoint every 2). */
function toyRun(dir: string, extra: Partial<Parameters<typeof train>[0]> = {}, log: string[] = []) {
  return train({
    outDir: dir,
    model: new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 }),
    train: new ToySource(5, 8, 16),
    val: new ToySource(99, 8, 16),
    log: (l) => log.push(l),
    config: { ...TOY_TRAIN_CONFIG, steps: 8, checkpointEvery: 2 },
    ...extra,
  });
}

/** A toy run killed (an exception in its step callback) right after step `step`'s metrics line. */
async function killedToyRun(dir: string, step: number): Promise<void> {
  await assert.rejects(
    toyRun(dir, {
      onStep: (m: StepMetrics) => {
        if (m.step === step) throw new Error('killed');
      },
    }),
    /killed/,
  );
}

describe('run directories, tried as a hostile user would', () => {
  let dir = '';
  let data = '';
  let microJson = '';
  let ref = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-hostile-'));
    data = join(dir, 'data.jsonl');
    writeFileSync(
      data,
      Array.from({ length: 3000 }, (_, i) =>
        JSON.stringify({ text: `${i} plus ${i + 1} is ${2 * i + 1}. The end.` }),
      ).join('\n') + '\n',
    );
    microJson = join(dir, 'micro.json');
    writeFileSync(microJson, JSON.stringify(micro));
    ref = join(dir, 'toy-ref');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A pretrain run of the micro model on the test data (library), `steps` long. */
  const microRun = (out: string, steps: number, log: string[] = []) =>
    pretrain({
      outDir: out,
      preset: 'tiny',
      modelConfig: micro,
      data: [data],
      steps,
      overrides: small,
      log: (l) => log.push(l),
    });

  it('a torn last line in metrics.jsonl is dropped (and said) on resume, and the run resumes exactly', async () => {
    await toyRun(ref);
    const out = join(dir, 'torn');
    await killedToyRun(out, 5);
    appendFileSync(join(out, 'metrics.jsonl'), '{"step":6,"loss":2.'); // a kill or ENOSPC in the middle of an append
    const log: string[] = [];
    await toyRun(out, { resume: true }, log);
    assert.ok(
      log.includes(`${join(out, 'metrics.jsonl')}: dropped an incomplete last line (19 bytes, a write cut short)`),
      log.join('\n'),
    );
    assert.deepEqual(curve(out), curve(ref));
    // GRPO's metrics go through the same code
    const g = join(dir, 'torn-grpo');
    const grpo = (resume: boolean, lines: string[] = []) => toyGrpoRun(g, {}, resume, (l) => lines.push(l));
    grpo(false);
    appendFileSync(join(g, 'metrics.jsonl'), '{"step":3,"rew');
    const glog: string[] = [];
    grpo(true, glog);
    assert.ok(
      glog.some((l) => l.endsWith('metrics.jsonl: dropped an incomplete last line (14 bytes, a write cut short)')),
      glog.join('\n'),
    );
    assert.deepEqual(
      metrics(g).map((m) => m.step),
      [1, 2],
    );
  });

  it('a corrupt latest checkpoint (truncated safetensors, bad state.json) falls back to the previous one with a warning', async () => {
    for (const damage of ['weights', 'state'] as const) {
      const out = join(dir, `corrupt-${damage}`);
      await killedToyRun(out, 7);
      const last = listCheckpoints(join(out, 'checkpoints')).at(-1)!;
      assert.equal(last.step, 6);
      if (damage === 'weights') truncateSync(join(last.dir, 'model.safetensors'), 100);
      else writeFileSync(join(last.dir, 'state.json'), '{"format": "r1ts-checkpoint-1", "step": 6');
      const log: string[] = [];
      await toyRun(out, { resume: true }, log);
      const warning = log.find((l) => l.startsWith('warning: checkpoint'));
      assert.match(
        warning ?? log.join('\n'),
        damage === 'weights'
          ? /step-00000006 is unreadable \(safetensors: .*model\.safetensors\)\); resuming from step 4 instead \(the bad one is kept as .*corrupt-step-00000006\)$/
          : /step-00000006 is unreadable \(checkpoint .*state\.json: not valid JSON: .*\); resuming from step 4 instead/,
      );
      assert.ok(existsSync(join(out, 'checkpoints', 'corrupt-step-00000006')), 'the bad checkpoint is kept');
      assert.deepEqual(curve(out), curve(ref), `${damage}: the same run as the uninterrupted one`);
    }
  });

  it('two writers: the second gets "in use by pid P on HOST since T"; a killed writer\'s lock is taken over', async () => {
    const out = join(dir, 'two');
    const seen: { second?: { code: number | null; err: string }; libraryError?: Error | null } = {};
    const first = await new Promise<{ pid: number; signal: NodeJS.Signals | null }>((resolve) => {
      const p = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'pretrain',
          '--out',
          out,
          '--config',
          microJson,
          '--data',
          data,
          '--steps',
          '400',
          '--log-every',
          '1',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      p.stdout.on('data', async (d: Buffer) => {
        text += d.toString();
        if (seen.second || !/step +2\/400/.test(text)) return;
        seen.second = cli('pretrain', '--out', out, '--config', microJson, '--data', data, '--steps', '1');
        seen.libraryError = await pretrain({ outDir: out, resume: true, steps: 3, log: () => {} }).then(
          () => null,
          (e: Error) => e,
        );
        p.kill('SIGKILL');
      });
      p.on('exit', (_, signal) => resolve({ pid: p.pid!, signal }));
    });
    assert.equal(first.signal, 'SIGKILL');
    const inUse = new RegExp(
      `run directory ${out} is in use by pid ${first.pid} on ${hostname()} since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(pretrain\\); wait for it to finish, or stop it`,
    );
    assert.ok(seen.second, 'the second writer ran');
    assert.equal(seen.second.code, 1);
    assert.match(seen.second.err, new RegExp(`^r1ts: ${inUse.source}\\n$`));
    assert.match(String(seen.libraryError), inUse);
    // the first writer is gone: its lock is stale and is taken over with a message
    assert.equal(pidAlive(first.pid), false);
    const log: string[] = [];
    const r = await pretrain({ outDir: out, resume: true, steps: 3, log: (l) => log.push(l) });
    assert.equal(r.steps, 3);
    assert.match(
      log[0],
      new RegExp(
        `^run directory ${out}: taking over a stale lock of pid ${first.pid} \\(since .*\\): pid ${first.pid} is no longer running$`,
      ),
    );
    assert.equal(existsSync(join(out, 'run.lock')), false, 'released at the end');
  });

  it("a checkpoint save removes its own and dead processes' temporary directories, never a live writer's", () => {
    const root = join(dir, 'tmp-owners');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const live = process.ppid;
    for (const pid of [dead, live]) mkdirSync(join(root, `.tmp-step-00000009-${pid}`), { recursive: true });
    const model = new DeepseekV3(toyConfig(), { seed: 1 });
    saveCheckpoint({ root, step: 1, model, optimizer: new AdamW(model.namedParameters(), { lr: 0 }), state: {} });
    assert.deepEqual(readdirSync(root).sort(), [`.tmp-step-00000009-${live}`, 'step-00000001']);
  });

  it('existing work is never deleted silently: a new run in a used directory is refused; --overwrite clears it', async () => {
    const out = join(dir, 'used');
    await microRun(out, 4);
    const before = { files: readdirSync(join(out, 'checkpoints')), metrics: readFileSync(join(out, 'metrics.jsonl')) };
    const again = cli('pretrain', '--out', out, '--config', microJson, '--data', data, '--steps', '1');
    assert.equal(again.code, 1);
    assert.equal(
      again.err,
      `r1ts: pretrain: ${out} already holds a run (run.json, metrics.jsonl, 3 checkpoints (last step 4), model/); continue it with --resume, or start over with --overwrite (deletes them)\n`,
    );
    assert.deepEqual(readdirSync(join(out, 'checkpoints')), before.files);
    assert.deepEqual(readFileSync(join(out, 'metrics.jsonl')), before.metrics);
    assert.equal(
      cli('pretrain', '--out', out, '--resume', '--overwrite').err,
      'r1ts: pretrain: --resume and --overwrite exclude each other\n',
    );
    await assert.rejects(
      toyRun(join(dir, 'used-by-toy')).then(() => toyRun(join(dir, 'used-by-toy'))),
      /already holds a run/,
    );
    // GRPO: the same refusal, and --overwrite says what it removed
    const g = join(dir, 'used-grpo');
    const grpo = (...extra: string[]) =>
      cli(
        'grpo',
        '--model',
        join(out, 'model'),
        '--task',
        'add',
        '--out',
        g,
        '--steps',
        '1',
        '--group-size',
        '2',
        '--prompts-per-step',
        '2',
        '--max-tokens',
        '4',
        ...extra,
      );
    assert.equal(grpo().code, 0);
    const refused = grpo();
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      /^r1ts: grpo: .*used-grpo already holds a run \(run\.json, metrics\.jsonl, 1 checkpoint \(last step 1\), model\/\); continue it with --resume, or start over with --overwrite/,
    );
    const over = grpo('--overwrite');
    assert.equal(over.code, 0, over.err);
    assert.match(
      over.out,
      new RegExp(`^overwrite: removed run\\.json, metrics\\.jsonl, checkpoints, model from ${g}$`, 'm'),
    );
    // pretrain's overwrite starts over, saying what it removed
    const log: string[] = [];
    await pretrain({
      outDir: out,
      modelConfig: micro,
      data: [data],
      steps: 1,
      overrides: small,
      overwrite: true,
      log: (l) => log.push(l),
    });
    assert.equal(log[0], `overwrite: removed run.json, metrics.jsonl, checkpoints, model, tokenizer.json from ${out}`);
    assert.equal(metrics(out).length, 1);
  });

  it('init --out over a model is refused; --overwrite replaces it and removes the stale tokenizer', () => {
    const m = join(dir, 'init');
    const cfg = 'test/fixtures/models/tiny-deepseek-v3/config.json';
    assert.equal(cli('init', '--config', cfg, '--out', m).code, 0);
    writeFileSync(join(m, 'tokenizer.json'), '{}');
    const weights = readFileSync(join(m, 'model.safetensors'));
    const again = cli('init', '--config', cfg, '--out', m, '--seed', '1');
    assert.equal(again.code, 1);
    assert.equal(
      again.err,
      `r1ts: init: ${m} already holds a model (config.json, model.safetensors, tokenizer.json); use --overwrite to replace it, or another --out\n`,
    );
    assert.deepEqual(readFileSync(join(m, 'model.safetensors')), weights);
    const over = cli('init', '--config', cfg, '--out', m, '--seed', '1', '--overwrite');
    assert.equal(over.code, 0, over.err);
    assert.equal(existsSync(join(m, 'tokenizer.json')), false);
    assert.notDeepEqual(readFileSync(join(m, 'model.safetensors')), weights);
  });

  it('JSON errors in run.json name the file, line and column', async () => {
    const out = join(dir, 'badjson');
    await microRun(out, 2);
    writeFileSync(join(out, 'run.json'), '{\n  "preset": "tiny",\n}\n');
    const r = cli('pretrain', '--out', out, '--resume');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(`^r1ts: run\\.json ${join(out, 'run.json')}: not valid JSON: .* \\(line 3, column 1\\)\\n$`),
    );
    const cfg = join(dir, 'bad-config.json');
    writeFileSync(cfg, '{"hidden_size": 16,,}');
    assert.match(
      cli('pretrain', '--out', join(dir, 'x'), '--config', cfg).err,
      new RegExp(`^r1ts: (pretrain|grpo): --config ${cfg}: not valid JSON: .*\\(line 1, column 20\\)\\n$`),
    );
  });

  it('resume rule: an immutable flag is an error naming both values; --steps and --lr are applied and recorded', async () => {
    const out = join(dir, 'rule');
    await microRun(out, 4);
    const bad = cli('pretrain', '--out', out, '--resume', '--precision', 'fp8', '--seed', '3');
    assert.equal(bad.code, 1);
    assert.equal(
      bad.err,
      'r1ts: pretrain --resume: --seed is 3 but the run used 0; --precision is fp8 but the run used the default; --precision (AdamW moments) is bf16 but the run used the default (these cannot change on resume; start a new run with another --out, or --overwrite)\n',
    );
    const refRun = join(dir, 'rule-ref');
    await microRun(refRun, 6);
    const r = cli('pretrain', '--out', out, '--resume', '--steps', '6', '--lr', '0.001');
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^resumed from .*step-00000004 at step 4 .*\nchanged on resume: --steps 4 -> 6, --lr 0\.003 -> 0\.001 \(recorded in run\.json\)$/m,
    );
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(run.train.steps, 6);
    assert.equal(run.train.peakLr, 0.001);
    assert.equal(run.status, 'finished');
    assert.deepEqual(run.history.at(-1).changed, [
      { setting: 'train.steps', flag: '--steps', from: 4, to: 6 },
      { setting: 'train.peakLr', flag: '--lr', from: 0.003, to: 0.001 },
    ]);
    // the schedule is the 6-step run's, scaled to the new peak
    const lr = (d: string, step: number) => metrics(d).find((m) => m.step === step)!.lr as number;
    for (const step of [5, 6]) assert.ok(Math.abs(lr(out, step) / lr(refRun, step) - 1 / 3) < 1e-12, `step ${step}`);
    // resuming the finished run trains nothing and prints its true final loss (not NaN)
    const done = cli('pretrain', '--out', out, '--resume');
    assert.equal(done.code, 0, done.err);
    const last = metrics(out).at(-1)!;
    assert.match(
      done.out,
      new RegExp(`^done: 6 steps, .* final loss ${(last.mainLoss as number).toFixed(4)}, val `, 'm'),
    );
    // GRPO: --lr may change too (applied from the next step, recorded); --group-size may not (test/rl/trainer.test.ts)
    const g = join(dir, 'rule-grpo');
    const grpo = (over: Record<string, unknown>, resume: boolean) => toyGrpoRun(g, over, resume);
    grpo({}, false);
    grpo({ steps: 3, lr: 1e-2 }, true);
    assert.deepEqual(
      metrics(g).map((m) => m.lr),
      [3e-2, 3e-2, 1e-2],
    );
    assert.deepEqual(JSON.parse(readFileSync(join(g, 'run.json'), 'utf8')).history[0].changed, [
      { setting: 'config.steps', flag: '--steps', from: 2, to: 3 },
      { setting: 'config.lr', flag: '--lr', from: 0.03, to: 0.01 },
    ]);
  });

  it('Ctrl-C (SIGINT) in pretrain and SIGTERM in grpo: the step ends, a checkpoint is saved, and --resume continues exactly', async () => {
    const args = ['--config', microJson, '--data', data, '--steps', '12', '--micro-batch', '2'];
    const refRun = join(dir, 'sig-ref');
    // the run the CLI makes of these flags, through the library
    const refOpts = { preset: 'tiny', modelConfig: micro, data: [data], steps: 12, overrides: { microBatch: 2 } };
    await pretrain({ outDir: refRun, ...refOpts, log: () => {} });
    const out = join(dir, 'sig');
    const r = await cliSignalled(['pretrain', '--out', out, ...args], /^step +3\/12 /m, 'SIGINT');
    assert.equal(r.code, 130, r.err);
    assert.match(
      r.err,
      /^SIGINT: stopping after the current step and saving a checkpoint \(press Ctrl-C again to exit at once\)$/m,
    );
    const stoppedAt = Number(/^stopped by SIGINT after step (\d+); checkpoint saved in /m.exec(r.out)?.[1]);
    assert.ok(stoppedAt >= 3 && stoppedAt < 12, r.out);
    assert.equal(listCheckpoints(join(out, 'checkpoints')).at(-1)!.step, stoppedAt);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(run.status, 'stopped');
    assert.deepEqual(run.history.at(-1), { ...run.history.at(-1), event: 'stop', signal: 'SIGINT', step: stoppedAt });
    const resumed = cli('pretrain', '--out', out, '--resume');
    assert.equal(resumed.code, 0, resumed.err);
    assert.deepEqual(curve(out), curve(refRun));
    assert.deepEqual(
      readFileSync(join(out, 'model', 'model.safetensors')),
      readFileSync(join(refRun, 'model', 'model.safetensors')),
    );
    // grpo, SIGTERM
    const gargs = (o: string) => [
      'grpo',
      '--model',
      join(refRun, 'model'),
      '--task',
      'add',
      '--out',
      o,
      '--steps',
      '30',
      '--group-size',
      '2',
      '--prompts-per-step',
      '2',
      '--max-tokens',
      '6',
    ];
    const gref = join(dir, 'sig-grpo-ref');
    assert.equal(cli(...gargs(gref)).code, 0);
    const g = join(dir, 'sig-grpo');
    const t = await cliSignalled(gargs(g), /^step +2\/30 /m, 'SIGTERM');
    assert.equal(t.code, 143, t.err);
    assert.match(t.out, /^stopped by SIGTERM after step \d+; checkpoint saved in /m);
    const gres = cli('grpo', '--out', g, '--resume');
    assert.equal(gres.code, 0, gres.err);
    const gcurve = (d: string) => metrics(d).map((m) => [m.step, m.reward, m.loss, m.kl, m.gradNorm]);
    assert.deepEqual(gcurve(g), gcurve(gref));
  });

  it('a second Ctrl-C exits at once (status 130)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/hostile/signal_child.ts'], { encoding: 'utf8' });
    assert.equal(r.status, 130, r.stderr);
    assert.equal(r.stdout, 'requested SIGINT\n');
    assert.match(r.stderr, /^SIGINT again: exiting now; the run resumes from its last checkpoint$/m);
  });

  it('too little data is said before training: no validation row is an error, repeated training data a warning', async () => {
    const few = join(dir, 'few.jsonl');
    writeFileSync(
      few,
      Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `${i} plus ${i + 1} is ${2 * i + 1}.` })).join(
        '\n',
      ) + '\n',
    );
    const out = join(dir, 'few');
    const r = cli('pretrain', '--out', out, '--config', microJson, '--data', few, '--steps', '3');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /^r1ts: pretrain: the validation split \(the ~1% of documents chosen by content hash\) holds \d+ document\(s\), \d+ tokens, but one row needs seqLen \+ 1 = 257 \(preset tiny's seqLen 256\); give more data \(200 documents now\) or a shorter seqLen\n$/,
    );
    assert.doesNotMatch(r.out, /^step /m, 'no step was trained');
    assert.equal(existsSync(join(out, 'run.json')), false, 'no run left behind: the same command can run again');
    const log: string[] = [];
    await pretrain({
      outDir: join(dir, 'few-repeat'),
      preset: 'tiny',
      modelConfig: micro,
      data: [few],
      steps: 200,
      overrides: { ...small, seqLen: 8, evalEvery: 1000, checkpointEvery: 1000 },
      log: (l) => log.push(l),
    });
    assert.ok(
      log.some((l) =>
        /^warning: the training split holds [\d,]+ tokens \(\d+ documents\) but --steps 200 of 2->2 rows x 8 tokens read 3,200: the data repeats ~\d\.\d times$/.test(
          l,
        ),
      ),
      log.join('\n'),
    );
  });
});

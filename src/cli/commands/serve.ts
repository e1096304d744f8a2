/**
 * `r1ts serve`: an OpenAI-compatible server for a model directory (src/serve).
 *   r1ts serve --model DIR [--host 127.0.0.1] [--port 8000] [--served-model-name NAME] [--max-batch 32]
 *              [--max-queue 256] [--speculative none|mtp] [--shutdown-timeout 30] [--shutdown-after S]
 * SIGINT or SIGTERM shuts it down gracefully (no new requests; running ones finish within --shutdown-timeout, then are
 * cancelled); a second signal exits at once. A status line is printed every 10 s while requests run.
 */
import type { Command } from 'commander';
import { loadModelAndTokenizer } from '../../io/load.js';
import type { WeightsInMemory } from '../../io/model_dir.js';
import { NO_DRAFT_MODULE, hasDraftModule } from '../../infer/batcher.js';
import { startServer } from '../../serve/server.js';
import { flagsOf, ints, nums } from '../flags.js';
import { warn } from '../warn.js';

interface ServeFlags {
  model: string;
  tokenizer?: string;
  weights: WeightsInMemory;
  host: string;
  port: number;
  servedModelName?: string;
  maxBatch: number;
  maxQueue: number;
  speculative: 'none' | 'mtp';
  shutdownTimeout: number;
  shutdownAfter?: number;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description(
      'serve a model over an OpenAI-compatible HTTP API (chat with reasoning_content, completions; continuous batching)',
    );
  const f = flagsOf(cmd);
  cmd
    .addOption(
      f
        .input('--model <dir>', 'model directory (config.json, model.safetensors, tokenizer.json)', 'dir')
        .makeOptionMandatory(),
    )
    .addOption(f.input('--tokenizer <file>', 'tokenizer.json (default: the one in --model)', 'file or dir'))
    .addOption(f.weights())
    .addOption(f.text('--host <addr>', 'address to listen on (there is no authentication: keep it local)', '127.0.0.1'))
    .addOption(f.int('--port <n>', 'port to listen on, 0 = any free one', ints(0, 65535), 8000))
    .addOption(f.text('--served-model-name <name>', "the model's id in requests (default: --model as given)"))
    .addOption(f.int('--max-batch <n>', 'sequences decoded together at most', ints(1, 4096), 32))
    .addOption(f.int('--max-queue <n>', 'sequences waiting at most; more get HTTP 429', ints(1, 1_000_000), 256))
    .addOption(
      f.choice(
        '--speculative <s>',
        "speculative decoding: 'mtp' drafts with the model's MTP module",
        ['none', 'mtp'] as const,
        'none',
      ),
    )
    .addOption(
      f.num('--shutdown-timeout <s>', 'seconds running requests get to finish on shutdown', nums(0, 86_400), 30),
    )
    .addOption(
      f.num(
        '--shutdown-after <s>',
        'shut down gracefully after this many seconds (scripts, smoke tests) (default: none, run until a signal)',
        nums(0, 1e9),
      ),
    )
    .action(async (o: ServeFlags) => {
      const c = 'serve';
      const { model, tok, warnings } = loadModelAndTokenizer(o.model, o.tokenizer, { weights: o.weights });
      warn(...warnings);
      if (o.speculative === 'mtp' && !hasDraftModule(model))
        throw new Error(`${c}: --speculative mtp (${o.model}): ${NO_DRAFT_MODULE}`);
      if (!LOOPBACK.includes(o.host))
        warn(`${c}: listening on ${o.host}: anyone who can reach it can use the model (there is no authentication)`);
      const name = o.servedModelName ?? o.model;
      const server = await startServer({
        model,
        tokenizer: tok,
        name,
        host: o.host,
        port: o.port,
        maxBatch: o.maxBatch,
        maxQueue: o.maxQueue,
        speculative: o.speculative,
        log: (line) => console.error(`r1ts serve: ${line}`),
      }).catch((e: NodeJS.ErrnoException) => {
        throw new Error(`${c}: cannot listen on ${o.host}:${o.port} (${e.code ?? e.message})`);
      });
      console.log(
        `r1ts serve: '${name}' on ${server.url} (max batch ${o.maxBatch}, queue ${o.maxQueue}, speculative ${o.speculative}); Ctrl-C stops`,
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (why: string) => {
          if (stopping) return;
          stopping = true;
          const { running, waiting } = server.engine.status();
          console.log(
            `r1ts serve: ${why}: finishing ${running + waiting} request sequence(s) (at most ${o.shutdownTimeout} s), then exiting`,
          );
          server.close(o.shutdownTimeout * 1000).then(() => {
            for (const [sig, h] of handlers) process.off(sig, h);
            clearInterval(status);
            clearTimeout(timer);
            console.log('r1ts serve: stopped');
            resolve();
          });
        };
        const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
          const h = () => {
            if (stopping) {
              console.log(`r1ts serve: ${sig} again: exiting now`);
              process.exit(sig === 'SIGINT' ? 130 : 143);
            }
            stop(`${sig} (send it again to exit at once)`);
          };
          process.on(sig, h);
          return [sig, h] as const;
        });
        const timer =
          o.shutdownAfter === undefined
            ? undefined
            : setTimeout(() => stop(`--shutdown-after ${o.shutdownAfter}`), o.shutdownAfter * 1000);
        let lastTokens = 0;
        let lastAt = performance.now();
        const status = setInterval(() => {
          const s = server.engine.status();
          const now = performance.now();
          if (s.stats.tokens !== lastTokens) {
            const rate = (s.stats.tokens - lastTokens) / ((now - lastAt) / 1000);
            const spec = s.stats.drafted
              ? `, drafts accepted ${((100 * s.stats.accepted) / s.stats.drafted).toFixed(0)}%`
              : '';
            console.log(`r1ts serve: ${s.running} running, ${s.waiting} waiting, ${rate.toFixed(0)} tokens/s${spec}`);
          }
          lastTokens = s.stats.tokens;
          lastAt = now;
        }, 10_000);
        status.unref();
      });
    });
}

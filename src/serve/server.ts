/**
 * `startServer`: an OpenAI-compatible HTTP server over one model, on Node's own `http` module. Node's server is enough
 * here: five routes, JSON bodies and server-sent events, one process whose event loop also drives the batch
 * (./engine.ts); a framework would add a dependency and its own request pipeline without adding anything these routes
 * need. It binds 127.0.0.1 unless told otherwise (there is no authentication).
 *
 * Routes: POST /v1/chat/completions and /v1/completions (./exchange.ts), GET /v1/models and /v1/models/{id}, GET
 * /health. Errors are OpenAI's JSON (./protocol.ts): 400 for a body that is not JSON or a field that is wrong (named),
 * 404 for an unknown model or route, 405 for a known route with another method, 413 for a body over the limit (1 MB
 * by default; the body is read to its end first, so the client sees the answer, then the connection is closed), 429
 * when the queue is full, 503 while shutting down. A 500 means a bug, never bad input.
 *
 * `close` is the graceful shutdown: stop accepting connections, let in-flight requests finish for a while, cancel what
 * is left (streams end with an error event, other requests get a 503), close every connection.
 *
 * Not here: the CLI and its signals (src/cli/commands/serve.ts).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CausalLM } from '../models/causal_lm.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { Engine, type EngineOptions } from './engine.js';
import { type ExchangeContext, runExchange, sendJson } from './exchange.js';
import { ApiError, parseChatRequest, parseCompletionRequest } from './protocol.js';

/** The default limit on a request body: 1 MB. */
export const MAX_BODY_BYTES = 1 << 20;

export interface ServeOptions extends EngineOptions {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** The model's id in requests and responses (`model`). */
  name: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Largest request body in bytes (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Where the server reports what it does (default: nothing). */
  log?: (line: string) => void;
}

/** A listening server. */
export interface RunningServer {
  /** http://host:port */
  url: string;
  host: string;
  port: number;
  engine: Engine;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish for `timeoutMs` (default 30 s), cancels the
   * rest, closes every connection. Resolves when the server is closed.
   */
  close(timeoutMs?: number): Promise<void>;
}

/** Reads a request body to its end: the bytes, or a 413 (read to the end all the same) when over `limit`. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > limit) over = true;
      else parts.push(b);
      // a client that keeps sending far past the limit is cut off
      if (size > 16 * limit) req.destroy();
    });
    req.on('end', () => {
      if (over)
        reject(
          new ApiError(
            413,
            `The request body is ${size} bytes; the limit is ${limit} bytes`,
            null,
            'request_too_large',
          ),
        );
      else resolve(Buffer.concat(parts));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new ApiError(400, 'The request body ended early', null, 'incomplete_body'));
    });
  });
}

/** The body as JSON, or a 400 saying where it stops being JSON. */
async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new ApiError(
      400,
      `We could not parse the JSON body of your request: ${(e as Error).message}`,
      null,
      'invalid_json',
    );
  }
}

/** Starts the server; resolves once it listens. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const log = opts.log ?? (() => {});
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const engine = new Engine(opts.model, opts);
  engine.onError = (e) => log(`error in a decoding step (its requests were cancelled): ${(e as Error).stack ?? e}`);
  const ctx: ExchangeContext = { model: opts.model, tok: opts.tokenizer, engine, name: opts.name };
  const created = Math.floor(Date.now() / 1000);
  const modelCard = { id: opts.name, object: 'model', created, owned_by: 'r1ts' };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const route = (methods: string[]) => {
      if (!methods.includes(method))
        throw new ApiError(
          405,
          `${method} is not allowed on ${path} (use ${methods.join(' or ')})`,
          null,
          'method_not_allowed',
        );
    };
    if (path === '/v1/chat/completions' || path === '/v1/completions') {
      route(['POST']);
      const body = await readJson(req, limit);
      const r =
        path === '/v1/chat/completions' ? parseChatRequest(body, opts.name) : parseCompletionRequest(body, opts.name);
      await runExchange(ctx, r, res);
      return;
    }
    if (path === '/v1/models') {
      route(['GET']);
      sendJson(res, 200, { object: 'list', data: [modelCard] });
      return;
    }
    if (path.startsWith('/v1/models/')) {
      route(['GET']);
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (id !== opts.name) throw new ApiError(404, `The model '${id}' does not exist`, 'model', 'model_not_found');
      sendJson(res, 200, modelCard);
      return;
    }
    if (path === '/health') {
      route(['GET']);
      const s = engine.status();
      sendJson(res, s.draining ? 503 : 200, {
        status: s.draining ? 'shutting down' : 'ok',
        model: opts.name,
        running: s.running,
        waiting: s.waiting,
        rows: s.rows,
        speculative: engine.batcher.speculative,
        tokens: s.stats.tokens,
        drafted: s.stats.drafted,
        accepted: s.stats.accepted,
      });
      return;
    }
    throw new ApiError(404, `Unknown route: ${method} ${path}`, null, 'not_found');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(500, `Internal server error: ${(e as Error).message ?? String(e)}`, null, 'server_error');
      if (!(e instanceof ApiError)) log(`500 on ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
      if (res.headersSent) {
        res.end();
        return;
      }
      const headers: Record<string, string> = {};
      if (err.status === 429) headers['Retry-After'] = '1';
      if (err.status === 413) headers.Connection = 'close';
      sendJson(res, err.status, err.body(), headers);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    engine,
    close(timeoutMs = 30_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await engine.drain(timeoutMs);
        // in-flight responses have been written; give their sockets a moment, then close everything
        await new Promise((resolve) => setImmediate(resolve));
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

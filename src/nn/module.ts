/**
 * Module: the unit models are built from (like torch.nn.Module). A module registers its parameters, buffers and child
 * modules by name; `namedParameters()` / `stateDict()` walk them with dotted names (`layers.0.attn.wq.weight`).
 * Names inside r1ts follow the papers; the mapping to Hugging Face names lives at the I/O border (src/io).
 *
 * Not here: forward signatures (each module defines its own `forward`), hooks, devices.
 */
import type { Tensor } from '../tensor/tensor.js';
import { sameShape, shapeStr } from '../tensor/shape.js';
import { copyConverted } from '../tensor/formats.js';

export class Module {
  private readonly paramMap = new Map<string, Tensor>();
  private readonly bufferMap = new Map<string, Tensor>();
  private readonly childMap = new Map<string, Module>();
  /** Training mode (dropout on, balance statistics collected). Toggle with train() / eval(). */
  training = true;

  /** Registers a trainable parameter (sets requiresGrad; bfloat16 storage is inference-only and never does). */
  protected param(name: string, t: Tensor): Tensor {
    if (t.dtype !== 'bfloat16') t.requiresGrad = true;
    this.paramMap.set(name, t);
    return t;
  }

  /** Registers a persistent non-trainable tensor (saved in the state dict) and returns it. */
  protected buffer(name: string, t: Tensor): Tensor {
    this.bufferMap.set(name, t);
    return t;
  }

  /** Registers a child module and returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    this.childMap.set(name, m);
    return m;
  }

  /** Registers a list of children as `name.0`, `name.1`, ... and returns it. */
  protected childList<M extends Module>(name: string, ms: M[]): M[] {
    const list = new ModuleList(ms);
    this.childMap.set(name, list);
    return ms;
  }

  /** All parameters with dotted names, depth-first in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.paramMap) out.push([prefix + n, p]);
    for (const [n, c] of this.childMap) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.bufferMap) out.push([prefix + n, b]);
    for (const [n, c] of this.childMap) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.childMap) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }

  /** Parameters and buffers by name. The tensors are the live ones (not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values into this module's tensors by name. Shapes must match; values are converted to each tensor's dtype
   * (into bfloat16 storage rounded to nearest even, out of it exactly).
   * With strict (default), missing and unexpected names are errors that list them.
   */
  loadStateDict(
    state: Map<string, Tensor>,
    opts: { strict?: boolean } = {},
  ): { missing: string[]; unexpected: string[] } {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if ((opts.strict ?? true) && (missing.length || unexpected.length)) {
      const parts: string[] = [];
      if (missing.length)
        parts.push(
          `missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5} more)` : ''}`,
        );
      if (unexpected.length)
        parts.push(
          `unexpected ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ` (+${unexpected.length - 5} more)` : ''}`,
        );
      throw new Error(`loadStateDict: ${parts.join('; ')}`);
    }
    for (const [k, t] of own) {
      const src = state.get(k);
      if (!src) continue;
      if (!sameShape(src.shape, t.shape)) {
        throw new RangeError(`loadStateDict: ${k} has shape ${shapeStr(src.shape)}, expected ${shapeStr(t.shape)}`);
      }
      copyConverted(t, src);
    }
    return { missing, unexpected };
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}

/** A list of modules registered as `0`, `1`, ... (children of whoever registers it). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.child(String(i), m));
  }
}

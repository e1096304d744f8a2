import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as r from '../../src/index.js';

describe('package root', () => {
  it('exports every layer: tensor, models, io, data, optim, train, fp8, parallel, infer, rl, eval', () => {
    for (const name of [
      'tensor',
      'Tensor',
      'gradcheck',
      'Module',
      'createModel',
      'parseConfig',
      'countParams',
      'DeepseekV3',
      'DenseLM',
      'loadModelDir',
      'saveModelDir',
      'loadSafetensors',
      'Tokenizer',
      'DataLoader',
      'AdamW',
      'train',
      'DataParallel',
      'pretrain',
      'setModelPrecision',
      'generate',
      'runGrpo',
      'evaluateModel',
      'VERSION',
    ]) {
      assert.ok(name in r, `missing export ${name}`);
    }
    assert.equal(typeof r.parallel.simulate, 'function');
    const { config } = r.parseConfig({
      model_type: 'llama',
      vocab_size: 16,
      hidden_size: 8,
      intermediate_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
    });
    assert.equal(r.createModel(config).numParameters(), r.countParams(config).total);
  });
});

/**
 * r1ts: the DeepSeek-R1 training system in TypeScript.
 *
 * The package root exports the tensor engine (Tensor, autograd, ops, random numbers), the backend registry, the
 * gradient checker, and every layer built on them: models, checkpoints, data, optimizers, training, FP8, pipeline
 * parallelism, generation, serving, RL and evaluation.
 *
 * Importing it chooses the compute backend (`initBackend`: native when its addon loads, or R1TS_BACKEND).
 */
import { initBackendOrExit } from './backend/select.js';

initBackendOrExit();

export * from './tensor/index.js';
export { initBackend, type BackendChoice } from './backend/select.js';
export {
  registerBackend,
  setBackend,
  getBackend,
  listBackends,
  getKernel,
  runKernel,
  type BackendKernels,
} from './backend/registry.js';
export {
  KERNEL_NAMES,
  type Kernels,
  type KernelName,
  type TensorData,
  type QuantizedData,
  type AdamWHyper,
  type AccumulatorModel,
} from './backend/kernels.js';
export * from './nn/index.js';
export {
  FP8_E4M3,
  FP8_E5M2,
  BF16,
  FP16,
  type FloatFormat,
  type CodeArray,
  type EncodeOptions,
  encodeFloat,
  decodeFloat,
  encodeFloatArray,
  decodeFloatArray,
  roundToFormat,
  ue8m0Scale,
  encodeUE8M0,
  decodeUE8M0,
} from './tensor/formats.js';
export {
  loadSafetensors,
  saveSafetensors,
  serializeSafetensors,
  readSafetensorsHeader,
  dequantizeBlockwise,
  SafetensorsError,
  MAX_HEADER_BYTES,
  type SafetensorsDtype,
  type FloatWriteDtype,
  type SafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsLoadOptions,
  type SafetensorsSaveOptions,
} from './io/safetensors.js';
export {
  loadCheckpointDir,
  loadCheckpointInto,
  checkpointDtypes,
  saveCheckpointDir,
  readCheckpointIndex,
  type CheckpointSaveOptions,
  type CheckpointIndex,
} from './io/safetensors_index.js';
/** Pipeline parallelism (1F1B, ZB1P, DualPipe, DualPipeV): schedules, simulator, worker-thread engine. */
export * as parallel from './parallel/index.js';
/** Data: byte-level BPE tokenizer (tokenizer.json), chat templates, readers, packing loader, built-in tasks, corpus. */
export {
  Tokenizer,
  DEFAULT_SPECIAL_TOKENS,
  PRE_TOKENIZER_PRESETS,
  renderChat,
  applyChatTemplate,
  R1_CHAT_TEMPLATE,
  DataLoader,
  readDocuments,
  readTexts,
  TASKS,
  getTask,
  extractAnswer,
  extractBoxed,
  parseNumber,
  numbersEqual,
  isR1Format,
  formatPrompt,
  R1_ZERO_TEMPLATE,
  corpusDocuments,
  writeCorpus,
  CORPUS_STYLES,
  type CorpusStyle,
  languageShare,
  mixedLanguage,
  SFT_TASKS,
  prefPairs,
  readabilityFailures,
  type Lang,
  type TokenizerConfig,
  type ChatMessage,
  type DataLoaderOptions,
  type DataPosition,
  type Task,
  type Problem,
} from './data/index.js';
export * as data from './data/index.js';
/** The error of every file reader for a missing, unreadable, non-regular (FIFO, device) or oversized input file. */
export { FileAccessError } from './util/files.js';
/** Generation: batched KV-cache sampling (temperature, top-p, top-k, stop strings), seeded and reproducible. */
export {
  generate,
  generateText,
  createModelRunner,
  createDecoder,
  GenerationWorkers,
  type GenerationWorkersOptions,
  CharCodec,
  checkContext,
  encodePrompt,
  type TextCodec,
  type GenerateOptions,
  type Generation,
  type FinishReason,
  type SamplingParams,
  type SamplingFilters,
  type ResolvedSampling,
  checkSamplingParams,
  DEFAULT_SAMPLING,
  SAMPLING_RANGES,
  generationBytes,
  kvCacheBytesPerToken,
  rowGenerator,
  Batcher,
  Sequence,
  hasDraftModule,
  tokenLogprob,
  verifyDraft,
  type BatcherOptions,
  type BatcherStats,
  type SequenceRequest,
  type TokenLogprob,
} from './infer/index.js';
/** Serving: an OpenAI-compatible server (chat with reasoning_content, completions) with continuous batching. */
export * as serve from './serve/index.js';
export { startServer, type ServeOptions, type RunningServer } from './serve/index.js';
/** R1-Zero RL (rewards, GRPO, the training loop) and evaluation (pass@1, cons@k, greedy). */
export {
  runGrpo,
  runGrpoAsync,
  GRPO_RESUME_RULE,
  resolveGrpoConfig,
  DEFAULT_GRPO_CONFIG,
  groupAdvantages,
  policyLoss,
  accuracyReward,
  formatReward,
  isReflective,
  reflectionRate,
  languageReward,
  loadRewardModule,
  taskSource,
  taskProblems,
  loadJsonlProblems,
  type GrpoConfig,
  type GrpoStepMetrics,
  type RewardFn,
  type RLProblem,
} from './rl/index.js';
export * as rl from './rl/index.js';
export {
  evaluate as evaluateModel,
  scoreResponses,
  passAtK,
  majorityVote,
  type EvalResult,
  type EvalOptions,
} from './eval/index.js';
/** FP8 mixed precision (DeepSeek-V3): number formats, quantisation, FP8 GEMM emulation, FP8/BF16 Linear, precision switch. */
export * as fp8 from './fp8/index.js';
/** Experiments that train models to check a paper's claim: the FP8 validation experiment (runFp8Experiment, ...). */
export * as experiments from './experiments/index.js';
/** Rejection sampling (`r1ts sample`): k samples per prompt kept by a checker, a scorer and readability filters. */
export {
  rejectionSample,
  selectResponses,
  renderSamplePrompt,
  parseKeepRule,
  parseFilters,
  keepRuleText,
  scoredText,
  checkHeldOut,
  loadScorerModule,
  recordsJsonl,
  describeCounts,
  SAMPLE_FILTERS,
  SAMPLE_SAMPLING,
  SAMPLE_TEMPLATES,
  DEFAULT_STOP,
  type ResponseScorer,
  type ScoredPart,
  type SampleTemplate,
  type KeepRule,
  type SampleCodec,
  type RenderedPrompt,
  type SampledResponse,
  type SampleProvenance,
  type SampleRecord,
  type SampleVerdict,
  type SampleCounts,
  type SelectOptions,
  type SampleSelection,
  type SampleProgress,
  type RejectionSampleOptions,
  type RejectionSampleResult,
} from './posttrain/sample.js';
export {
  taskPrompts,
  recordPrompt,
  filePrompts,
  isSampleTask,
  SAMPLE_TASKS,
  type SamplePrompt,
  type TaskPromptOptions,
} from './posttrain/sample_prompts.js';
/** Reports of runs: one self-contained HTML file of plots per run directory (writeReport, buildReport, ...). */
export * as report from './report/index.js';
/** Progress of long commands: a live line on a terminal, a line every N steps on a pipe. */
export {
  Progress,
  progressOutput,
  autoLogEvery,
  formatDuration,
  type ProgressSink,
  type ProgressOptions,
  type ProgressStream,
} from './util/progress.js';
export {
  setModelPrecision,
  parsePrecision,
  PRECISIONS,
  type Precision,
  type PrecisionOptions,
} from './fp8/precision.js';
/** Models: DeepSeek-V3 (MLA, DeepSeekMoE, MTP, YaRN) and dense Qwen2/Llama students, with HF configs and names. */
export {
  createModel,
  parseConfig,
  configToJson,
  countParams,
  isDeepseek,
  DeepseekV3,
  DenseLM,
  MLACache,
  DenseCache,
  Gate,
  MoE,
  MLA,
  loadImbalance,
  ropeTables,
  MLP,
  registerModelFamily,
  modelFamilies,
  familyOf,
  type CausalLM,
  type KVCache,
  type Decoder,
  type BatchDecoder,
  type DecodeStep,
  type DecodeStepOptions,
  type CausalLMOutput,
  type AfterStepOptions,
  type AfterStepResult,
  type ModelFamily,
  type ModelInitOptions,
  type ModelConfig,
  type DeepseekConfig,
  type DenseConfig,
  type ParamCounts,
  type ForwardOptions,
  type LossOptions,
  type LossResult,
} from './models/index.js';
export {
  loadModelDir,
  saveModelDir,
  readConfigFile,
  resolveWeights,
  WEIGHTS_IN_MEMORY,
  type LoadedModel,
  type LoadModelOptions,
  type WeightsInMemory,
} from './io/model_dir.js';
export { loadModelAndTokenizer, type ModelAndTokenizer } from './io/load.js';
export { toHFName, hfNameOf, exportStateDict, importStateDict } from './io/hf.js';
/** GGUF: the file format and llama.cpp's layouts (`r1ts export gguf`); the tokenizer side is `ggufVocab`. */
export {
  writeGguf,
  readGguf,
  ggufTensorData,
  ggufGet,
  gguf,
  quantizeQ8_0,
  dequantizeQ8_0,
  type GgufContent,
  type GgufFile,
  type GgufMetadata,
  type GgufTensor,
  type GgufTensorInfo,
  type GgufValue,
  type GgmlType,
} from './io/gguf.js';
export {
  modelToGguf,
  checkLlamaCppSupport,
  llamaCppArch,
  ggufToHfTensors,
  GGUF_DTYPES,
  type GgufDtype,
  type GgufVocab,
  type GgufExport,
  type GgufExportOptions,
} from './io/gguf_model.js';
export { ggufVocab, llamaCppPreTokenizer } from './data/gguf_vocab.js';
/** Optimizers and DeepSeek-V3's schedules; the pre-training loop, checkpoints and presets. */
export {
  AdamW,
  clipGradNorm,
  lrAt,
  batchSizeAt,
  gammaAt,
  mtpLambdaAt,
  scaledV3Schedule,
  v3Schedule,
  type AdamWOptions,
  type ScheduleConfig,
} from './optim/index.js';
export {
  train,
  validationLoss,
  DEFAULT_TRAIN_CONFIG,
  TRAIN_RESUME_RULE,
  type TrainConfig,
  type TrainArgs,
  type TrainResult,
  type BatchSource,
  type StepMetrics,
} from './train/trainer.js';
export { saveCheckpoint, loadCheckpoint, listCheckpoints, latestCheckpoint } from './train/checkpoint.js';
/** Run directories: the lock, run.json and its resume rule, metrics.jsonl repair, Ctrl-C (docs/run-directories.md). */
export {
  RunDir,
  readRunRecord,
  runFinished,
  settingsDiff,
  type ResumeRule,
  type RunMode,
  type RunRecord,
  type OpenRunOptions,
  type SettingChange,
} from './train/run_dir.js';
export { StopRequests, stopExitCode, type StopSignal } from './train/signals.js';
export { readJsonFile, readJsonObject, writeJsonFile } from './io/json.js';
export { SpikeDetector, type SpikeOptions } from './train/spike.js';
export {
  DataParallel,
  runMicroBatch,
  autoWorkers,
  type DataParallelOptions,
  type MicroBatch,
  type MicroResult,
  type LossSettings,
} from './train/data_parallel.js';
export {
  pretrain,
  LoaderSource,
  PRETRAIN_RESUME_RULE,
  type PretrainOptions,
  type PretrainResult,
  type PretrainSettings,
} from './train/pretrain.js';
export { checkTrainSizes, trainMicroBatchBytes, TRAIN_SIZE_RANGES } from './train/sizes.js';
export { PRESETS, getPreset, type Preset } from './train/presets.js';
export {
  RewardModel,
  loadRewardModel,
  rewardModelFromLM,
  saveRewardModel,
  isRewardModelDir,
  type ScoreOptions,
} from './posttrain/reward_model.js';
export { trainRewardModel, DEFAULT_RM_TRAIN, type RmTrainOptions, type RmTrainResult } from './posttrain/rm_train.js';
export { trainDpo, DEFAULT_DPO_TRAIN, DEFAULT_DPO_BETA, type DpoOptions, type DpoResult } from './posttrain/dpo.js';
export { bradleyTerryLoss, dpoLoss, type PairMetrics } from './posttrain/pair_losses.js';
export { scoreRecords, type ScoreReport } from './posttrain/rm_score.js';
export { winRate, sampleChat, type WinRate } from './posttrain/judge.js';
export { VERSION } from './version.js';
/** Post-training data: TRL record formats to chat examples, and the assistant-only loss mask of a chat template. */
export {
  toChatExample,
  toPreferenceExample,
  tokenizeChat,
  type ChatExample,
  type PreferenceExample,
  type TokenizedChat,
  type ChatRenderer,
} from './posttrain/chat_data.js';
/** Supervised fine-tuning (`r1ts sft`): packed chat samples, assistant-only loss, a resumable run directory. */
export {
  sft,
  DEFAULT_SFT_EVAL,
  type SftOptions,
  type SftSettings,
  type SftRunResult,
  type SftEvalSettings,
} from './posttrain/sft_run.js';
export {
  DEFAULT_SFT_CONFIG,
  LR_SCHEDULES,
  SFT_RESUME_RULE,
  sftLoss,
  type SftConfig,
  type SftStepMetrics,
  type LrSchedule,
} from './posttrain/sft.js';
export {
  IGNORE_INDEX,
  buildBatch,
  fitSamples,
  packFirstFit,
  type SftSample,
  type PackedBatch,
} from './posttrain/packing.js';
export { evaluateSftTasks, describeTaskEval, type TaskEvalResult, type TaskEvalOptions } from './posttrain/sft_eval.js';
/** Distillation (`r1ts distill`): rejection-sample a teacher, fine-tune a student on the kept responses. */
export {
  distill,
  DEFAULT_DISTILL_SAMPLING,
  DEFAULT_DISTILL_SFT,
  DISTILL_RESUME_RULE,
  type DistillSampling,
  type DistillSettings,
  type DistillOptions,
  type DistillResult,
} from './posttrain/distill.js';
/** The R1 paper's distillation-versus-RL comparison (`r1ts experiment distill-vs-rl`). */
export {
  distillVsRl,
  comparisonTable,
  type DistillVsRlOptions,
  type DistillVsRlResult,
  type ComparisonRow,
} from './posttrain/distill_vs_rl.js';

/** Pipeline parallelism: schedules (1F1B, ZB1P, DualPipe, DualPipeV), the simulator, timelines, and the worker engine. */
export {
  type Method,
  type Chunk,
  type Step,
  type Schedule,
  type ScheduleOptions,
  type StepCounts,
  METHODS,
  buildSchedule,
  validateOptions,
  checkPrograms,
  stepCounts,
  rankOf,
  slotOf,
  stagesOfRank,
} from './schedule.js';
export {
  type Costs,
  type SimResult,
  type RankResult,
  type TimedStep,
  DEFAULT_COSTS,
  simulate,
  resultFromTimelines,
  validateCosts,
  formulaBubble,
  formulaMemory,
  peakLive,
  describeStep,
} from './simulate.js';
export { renderText, renderSvg, summaryLines } from './render.js';
export {
  type StageModule,
  type PipelineModel,
  type PipelineModelSpec,
  type PipelineModelFactory,
  type SavedChunk,
  loadPipelineModel,
  forwardChunk,
  backwardFull,
  backwardInput,
  backwardWeight,
} from './stage.js';
export {
  type PipelineOptions,
  type PipelineStepResult,
  type StageTensors,
  PipelineTrainer,
  sequentialStep,
  measuredResult,
} from './engine.js';
export { type ToyOptions, TOY_DEFAULTS, ToyStage, toyModelSpec, toyBatch } from './toy.js';

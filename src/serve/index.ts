/**
 * Serving: an OpenAI-compatible HTTP server (chat completions with DeepSeek's `reasoning_content`, completions,
 * models, health) over the continuous batcher of src/infer, with optional MTP speculative decoding.
 */
export { startServer, MAX_BODY_BYTES, type ServeOptions, type RunningServer } from './server.js';
export { Engine, type EngineOptions, type EngineStatus } from './engine.js';
export { ApiError, parseChatRequest, parseCompletionRequest, type GenerationRequest } from './protocol.js';
export { ChoiceText, opensThinking, type TextDelta } from './text.js';

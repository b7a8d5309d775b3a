// Public API of the glm5 package.

export { GlmModel, type ForwardResult, type LoadOptions } from './model/model.js';
export { loadConfig, parseConfig, type ModelConfig } from './model/config.js';
export { SequenceCache } from './model/cache.js';
export type { ForwardOptions } from './model/context.js';
export { Checkpoint } from './checkpoint/checkpoint.js';
export { CheckpointError } from './checkpoint/errors.js';
export { SafetensorsFile, writeSafetensors } from './checkpoint/safetensors.js';
export type { Ops } from './kernels/interface.js';
export { refOps } from './kernels/ref/index.js';
export { nativeOps, machineLimits } from './kernels/native.js';
export { selectOps } from './kernels/select.js';
export { Tokenizer } from './text/tokenizer.js';
export { ChatTemplate } from './text/chat-template.js';
export { OutputParser, parseOutput } from './text/output-parser.js';
export { ModelOutput } from './text/model-output.js';
export { BlockSegmenter } from './text/blocks.js';
export type { OutputEvent, ToolCall } from './text/output-events.js';
export type { Block, BlockEvent } from './text/blocks.js';

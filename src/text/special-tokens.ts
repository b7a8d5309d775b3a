// GLM-5's added tokens, its pre-tokenizer regex and the tags the chat format and parsers use.

/** GLM-5's 36 added tokens in id order (GLM-5 numbers them 154,820 .. 154,855, right after the base vocab). */
export const GLM5_ADDED_TOKENS: readonly string[] = [
  '<|endoftext|>',
  '[MASK]',
  '[gMASK]',
  '[sMASK]',
  '<sop>',
  '<eop>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|observation|>',
  '<|begin_of_image|>',
  '<|end_of_image|>',
  '<|begin_of_video|>',
  '<|end_of_video|>',
  '<|begin_of_audio|>',
  '<|end_of_audio|>',
  '<|begin_of_transcription|>',
  '<|end_of_transcription|>',
  '<|code_prefix|>',
  '<|code_middle|>',
  '<|code_suffix|>',
  '<think>',
  '</think>',
  '<tool_call>',
  '</tool_call>',
  '<tool_response>',
  '</tool_response>',
  '<arg_key>',
  '</arg_key>',
  '<arg_value>',
  '</arg_value>',
  '/nothink',
  '<|begin_of_box|>',
  '<|end_of_box|>',
  '<|image|>',
  '<|video|>',
];

/** Generation stops on any of these (generation_config.eos_token_id of GLM-5); the first is also pad. */
export const GLM5_STOP_TOKENS: readonly string[] = ['<|endoftext|>', '<|user|>', '<|observation|>'];
export const GLM5_PAD_TOKEN = '<|endoftext|>';

/** The GLM-4/GLM-5 pre-tokenizer (an isolated Split before ByteLevel), as written in tokenizer.json. */
export const GLM_PRETOKENIZER_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';
export const ARG_KEY_OPEN = '<arg_key>';
export const ARG_KEY_CLOSE = '</arg_key>';
export const ARG_VALUE_OPEN = '<arg_value>';
export const ARG_VALUE_CLOSE = '</arg_value>';

// The neutral output model: what a GLM completion says, in stream order, independent of any wire protocol. The
// parsers in this folder emit OutputEvents; blocks.ts groups them into blocks; each server dialect (and the
// terminal chat) maps those to its own shape.

/** A complete tool call. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** Typed by the tool's declared JSON schema (string parameters verbatim). */
  readonly arguments: Record<string, unknown>;
  /** json.dumps(arguments, ensure_ascii=False), e.g. `{"city": "Paris", "days": 2}`: the call's tool_args concatenated. */
  readonly argumentsJson: string;
}

/**
 * One piece of output. A call is `tool_start`, then `tool_args` fragments that concatenate to its arguments JSON,
 * then `tool_end` with the whole call; `index` counts the calls of one output from 0.
 */
export type OutputEvent =
  | { readonly kind: 'reasoning'; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool_start'; readonly index: number; readonly id: string; readonly name: string }
  | { readonly kind: 'tool_args'; readonly index: number; readonly text: string }
  | { readonly kind: 'tool_end'; readonly index: number; readonly call: ToolCall };

/** Appends an event, merging it into the last one when both are text of the same kind. */
export function pushMerged(out: OutputEvent[], e: OutputEvent): void {
  const last = out[out.length - 1];
  if ((e.kind === 'text' || e.kind === 'reasoning') && last?.kind === e.kind) out[out.length - 1] = { kind: e.kind, text: last.text + e.text };
  else out.push(e);
}

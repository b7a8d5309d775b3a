// One-line, actionable checkpoint errors that always name the file and, where known, the tensor.

export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? `: tensor '${tensor}'` : ''}: ${message}`);
    this.name = 'CheckpointError';
  }
}

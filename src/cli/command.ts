// The contract every `glm5` subcommand module exports (`command`), and the error that means "bad flags"
// (main turns it into exit code 2). Its own module so commands never import the dispatcher back.

export interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<void>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

// A mistake in the command line. `coco` prints its message and the command's usage on stderr and
// exits 2, so that scripts can tell a wrong invocation (2) from a failed operation (1).

import { CocoError } from '../errors.js';

export class UsageError extends CocoError {
  constructor(message: string, readonly usage: string) {
    super('UsageError', message);
  }
}

/** Whether a command's first argument asks for its help rather than naming a subcommand. */
export function asksForHelp(argument: string | undefined): boolean {
  return argument === '--help' || argument === '-h';
}

/** Refuses the arguments past the `max` a command takes: ignored, they would hide a mistake. */
export function refuseExtraArguments(positionals: readonly string[], max: number, usage: string): void {
  if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`, usage);
}

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

/**
 * A command line that parseArgs refused, in one line: Node's message names the option, then
 * explains how to pass an argument starting with '-'; the first sentence is kept, with where to
 * look. Other errors keep their message.
 */
export function argumentProblem(error: unknown, command: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return message;
  const first = message
    .split(/\.\s/)[0]!
    .replace(/^Unknown option '(.*)'$/, 'unknown option $1')
    .replace(/^Unexpected argument '(.*)'$/, 'unexpected argument "$1"')
    .replace(/^Option '(\S+) <value>' argument missing$/, '$1 needs a value');
  return `${first}; see coco ${command} --help`;
}

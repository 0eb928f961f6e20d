// A file system error in the words of a CLI message: the system's description alone ("permission
// denied", "not a directory"), without Node's code, call and path, which the message names itself.

/** The description of a file system error (Node's message is "<CODE>: <description>, <call>[ '<path>']"). */
export function fileErrorReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /^[A-Z]+: (.+?), \w+(?: '.*)?$/s.exec(message)?.[1] ?? message;
}

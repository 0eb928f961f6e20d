// The one error family of Coco: every failure a caller can act on carries a stable `code`
// (CCF's code where CCF has one) and a message that says what was wrong and what to do.

export class CocoError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CocoError';
    this.code = code;
  }
}

/** Asserts an invariant that must hold whatever the input; a failure is a bug in Coco. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CocoError('InternalError', `invariant violated: ${message}`);
}

// The error a JavaScript exception becomes on the Node side: a CocoError ('JsException' for an
// uncaught exception in a called function, 'JsModuleError' when loading a module failed) that
// keeps the JS error's name, message and stack for logs and for `return_exception_details`.

import { CocoError } from '../errors.js';

export interface JsErrorDetails {
  /** The JS error's name ("TypeError"), or "" when a non-Error value was thrown. */
  name: string;
  message: string;
  stack: string | undefined;
}

export class JsExceptionError extends CocoError {
  readonly jsName: string;
  readonly jsMessage: string;
  readonly jsStack: string | undefined;

  constructor(code: 'JsException' | 'JsModuleError', message: string, details: JsErrorDetails) {
    super(code, message);
    this.name = 'JsExceptionError';
    this.jsName = details.name;
    this.jsMessage = details.message;
    this.jsStack = details.stack;
  }
}

/** CCF's message for a call stopped at its time limit: a handler's 500, a ballot's or a proposal's failure. */
export const JS_TIMEOUT_MESSAGE = 'Operation took too long to complete.';

/** QuickJS's own reasons for the limits that stop a call (by CocoError code), which CCF reports as they are. */
export const QUICKJS_LIMIT_REASONS: Readonly<Record<string, string>> = {
  JsOutOfMemory: 'InternalError: out of memory',
  JsStackOverflow: 'InternalError: stack overflow',
  JsExecutionTimeout: 'InternalError: interrupted',
};

// The error of a request that the service answered with a non-2xx status. It carries the HTTP
// status and CCF's error `code` and `message` from the body `{"error":{"code","message"}}`; a body
// of another shape keeps the `x-ms-error-code` header's code, else 'HttpError', and a bounded excerpt.

import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { CocoResponse } from './coco-response.js';

/** How much of a body that is not CCF's error shape goes into the message. */
export const ERROR_BODY_EXCERPT_CHARS_MAX = 300;

const ERROR_CODE_HEADER = 'x-ms-error-code';

export class CocoRequestError extends CocoError {
  readonly status: number;
  /** The service's own message, without the request context that `message` adds. */
  readonly serviceMessage: string;
  readonly method: string;
  readonly path: string;

  constructor(opts: { status: number; code: string; serviceMessage: string; method: string; path: string }) {
    super(opts.code, `${opts.method} ${opts.path} failed with HTTP ${opts.status} ${opts.code}: ${opts.serviceMessage}`);
    this.name = 'CocoRequestError';
    this.status = opts.status;
    this.serviceMessage = opts.serviceMessage;
    this.method = opts.method;
    this.path = opts.path;
  }

  static fromResponse(method: string, path: string, response: CocoResponse): CocoRequestError {
    const { code, message } = ccfError(response) ?? {
      code: response.headers[ERROR_CODE_HEADER] ?? 'HttpError',
      message: excerpt(response.body),
    };
    return new CocoRequestError({ status: response.status, code, serviceMessage: message, method, path });
  }
}

function ccfError(response: CocoResponse): { code: string; message: string } | undefined {
  let body: unknown;
  try {
    body = response.json();
  } catch {
    return undefined;
  }
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  if (typeof error !== 'object' || error === null) return undefined;
  if (typeof error.code !== 'string' || typeof error.message !== 'string') return undefined;
  return { code: error.code, message: error.message };
}

function excerpt(body: Uint8Array): string {
  if (body.length === 0) return '(empty body)';
  const text = fromUtf8(body).trim();
  return text.length > ERROR_BODY_EXCERPT_CHARS_MAX ? `${text.slice(0, ERROR_BODY_EXCERPT_CHARS_MAX)}…` : text;
}

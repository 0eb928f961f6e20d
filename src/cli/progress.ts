// Progress for long operations, on stderr so that stdout stays machine-readable. On a terminal, one
// line rewritten in place a few times a second; elsewhere (a CI log, a file, a pipe), a plain line
// every few seconds, so that a log shows the operation is alive without filling up.

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Milliseconds since the epoch (default: the clock). */
  now?: () => number;
}

const TERMINAL_INTERVAL_MS = 200;
const LOG_INTERVAL_MS = 5_000;

export class Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #terminal: boolean;
  readonly #now: () => number;
  #lastPrint: number;
  #printed = false;

  constructor({ stream = process.stderr, now = Date.now }: ProgressOptions = {}) {
    this.#stream = stream;
    this.#terminal = (stream as { isTTY?: boolean }).isTTY === true;
    this.#now = now;
    // A log's first line comes after one interval: short operations print nothing.
    this.#lastPrint = this.#terminal ? 0 : now();
  }

  update(text: string): void {
    const now = this.#now();
    if (now - this.#lastPrint < (this.#terminal ? TERMINAL_INTERVAL_MS : LOG_INTERVAL_MS)) return;
    this.#lastPrint = now;
    this.#printed = true;
    this.#stream.write(this.#terminal ? `\r\x1b[K${text}` : `${text}\n`);
  }

  done(): void {
    if (this.#printed && this.#terminal) this.#stream.write('\r\x1b[K');
  }
}

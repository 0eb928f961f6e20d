// What a child process printed, kept in memory to explain its exit: all of it while it starts (the
// start-up checks read it), then only the last part. A node under load logs a line per request;
// kept whole, its output grew without bound in the sandbox (~1 GB an hour at 3,000 requests/s).

/** The tail kept once the process is up: the last messages before an exit. */
const TAIL_CHARS = 64 * 1024;

export class OutputTail {
  #text = '';
  #bounded = false;

  append(chunk: string): void {
    this.#text += chunk;
    // Trimmed to the tail each time it has doubled it, so trimming costs O(1) per character.
    if (this.#bounded && this.#text.length > 2 * TAIL_CHARS) this.#text = this.#text.slice(-TAIL_CHARS);
  }

  /** From now on only the tail is kept. */
  bound(): void {
    this.#bounded = true;
    this.append('');
  }

  get text(): string {
    return this.#text;
  }
}

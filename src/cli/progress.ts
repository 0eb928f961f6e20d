// Progress for long operations, on stderr so that stdout stays machine-readable. Throttled, and
// silent unless stderr is a terminal or the caller forces it.

export class Progress {
  private lastPrint = 0;
  private printed = false;

  constructor(
    private readonly enabled = process.stderr.isTTY === true,
    private readonly intervalMs = 200,
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastPrint < this.intervalMs) return;
    this.lastPrint = now;
    this.printed = true;
    process.stderr.write(`\r\x1b[K${text}`);
  }

  done(): void {
    if (this.printed) process.stderr.write('\r\x1b[K');
  }
}

// The node's log: lines to stdout (info) and stderr (warnings, errors), batched so that a line per
// request (CCF's per-request `[js]` metrics) costs a string append, not a write system call.
// Batches flush every FLUSH_INTERVAL_MS, when they reach FLUSH_BYTES, and on close.

export type LogLevel = 'info' | 'warn' | 'error';

const FLUSH_INTERVAL_MS = 100;
const FLUSH_BYTES = 64 * 1024;

class Batch {
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  add(line: string): void {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS).unref();
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    this.stream.write(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.bytes = 0;
  }
}

export class BufferedLog {
  private readonly out = new Batch(process.stdout);
  private readonly err = new Batch(process.stderr);

  line(level: LogLevel, text: string): void {
    (level === 'info' ? this.out : this.err).add(text);
  }

  flush(): void {
    this.out.flush();
    this.err.flush();
  }
}

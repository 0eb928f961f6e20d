// The node's log: lines to stdout (info) and stderr (warnings, errors), batched so that a line per
// request (CCF's per-request `[js]` metrics) costs a string append, not a write system call.
// Batches flush every FLUSH_INTERVAL_MS, when they reach FLUSH_BYTES, and on close. Each line starts
// with the time (UTC) and its level, as CCF's do: `2026-12-04T23:41:13.557Z [info ] ...`.
// CCF's `logging` section (configureLog) may make each a JSON object instead, and drop the less severe.

export type LogLevel = 'info' | 'warn' | 'error';

let stampMs = -1;
let stamp = '';

/** The time now as an ISO 8601 UTC string, worked out at most once per millisecond (a line per request). */
export function logTime(): string {
  const nowMs = Date.now();
  if (nowMs !== stampMs) {
    stampMs = nowMs;
    stamp = new Date(nowMs).toISOString();
  }
  return stamp;
}

/** What begins each line of the node's log: its time and level. */
export const LOG_LINE_PREFIX = /^\S+Z \[(info |warn |error)\] /;

/**
 * Control characters that could end a line or steer a terminal (C0, DEL, C1, Unicode's line and
 * paragraph separators). An app's or a constitution's text may hold any of them: written raw, a
 * newline would start a line that passes for the node's own, and ESC would reach the reader's terminal.
 */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeCharacter(character: string): string {
  if (character === '\n') return '\\n';
  if (character === '\r') return '\\r';
  if (character === '\t') return '\\t';
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/** `text` as one line: control characters written as escapes (`\n`, `\x1b`), so each record stays one line. */
export function oneLine(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, escapeCharacter);
}

/** CCF's `logging.format`: Text lines as above, or one JSON object a line. */
export const LOG_FORMATS = ['Text', 'Json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** CCF's `logging.host_level` names, least severe first. */
export const HOST_LEVELS = ['Trace', 'Debug', 'Info', 'Fail', 'Fatal'] as const;
export type HostLevel = (typeof HOST_LEVELS)[number];

/** CCF's `logging` section: how lines are written, and the least severe one written. */
export interface LogSettings {
  format: LogFormat;
  hostLevel: HostLevel;
}

export const LOG_SETTINGS_DEFAULT: LogSettings = { format: 'Text', hostLevel: 'Info' };

/**
 * Where Coco's levels sit among CCF's: info is Info, warn is CCF's Fail, and error, the level a node
 * reports its failures at, counts as Fatal, so that host_level Fatal keeps them and nothing else.
 */
const HOST_LEVEL_OF: Record<LogLevel, HostLevel> = { info: 'Info', warn: 'Fail', error: 'Fatal' };

let settings: LogSettings = LOG_SETTINGS_DEFAULT;

/** Applies a node's `logging` configuration to every line written after. */
export function configureLog(configured: LogSettings): void {
  settings = configured;
}

/** JSON.stringify leaves U+2028 and U+2029 raw, and some readers end lines at them. */
const JSON_LINE_BREAKS = /[\u2028\u2029]/g;

/** The line for `text` at `level` as configured, or undefined when host_level drops it (unless `always`). */
function formatLine(level: LogLevel, text: string, always = false): string | undefined {
  if (!always && HOST_LEVELS.indexOf(HOST_LEVEL_OF[level]) < HOST_LEVELS.indexOf(settings.hostLevel)) return undefined;
  if (settings.format === 'Json') {
    // CCF's JSON host log names its fields h_ts, level and msg.
    return JSON.stringify({ h_ts: logTime(), level, msg: text }).replace(JSON_LINE_BREAKS, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  }
  return `${logTime()} [${level.padEnd(5)}] ${oneLine(text)}`;
}

/** One line of the node's log written at once (start-up, role changes, failures), in the batched lines' format. */
export function logLine(level: LogLevel, text: string): void {
  const line = formatLine(level, text);
  if (line === undefined) return;
  batchOf(level).flush();
  (level === 'info' ? console.log : console.error)(line);
}

/**
 * An info line written at any host_level: the lines that say a node serves (`listening on`,
 * `ready`), which `coco sandbox` and operators' scripts wait for. Two lines a start cost a quiet log
 * nothing, and a node that never seemed to start would cost its operator much.
 */
export function logReadinessLine(text: string): void {
  batches.out.flush();
  console.log(formatLine('info', text, true));
}

/** The message of one line of a node's log, in either format: without the Text time and level, or a Json record's `msg`. */
export function messageOfLogLine(line: string): string {
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as { msg?: unknown };
      if (typeof record.msg === 'string') return record.msg;
    } catch {
      // Not a record of the Json format: the line as it is.
    }
    return line;
  }
  return line.replace(LOG_LINE_PREFIX, '');
}

/**
 * Makes a failed write of the log (a full disk, a file size limit, a closed pipe: ENOSPC, EFBIG,
 * EPIPE) drop lines, the stream's later ones included, rather than end the node with an uncaught
 * error. The node's work does not depend on its log: ending it would turn a full log disk into a
 * node lost to the service, while its ledger, which does matter, stops the node on its own failures.
 * The first failure of each stream is reported on the other one, when that still works.
 */
export function dropLogLinesOnWriteFailure(): void {
  const streams = [
    { stream: process.stdout, other: process.stderr, name: 'stdout' },
    { stream: process.stderr, other: process.stdout, name: 'stderr' },
  ];
  for (const { stream, other, name } of streams) {
    let reported = false;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (reported) return;
      reported = true;
      const line = formatLine('error', `coco node: writing the log to ${name} failed (${error.code ?? error.message}): its lines are dropped from now on while the node goes on serving; free the space it writes to (or its reader) and restart the node to get its log back`);
      if (line !== undefined) other.write(`${line}\n`);
    });
  }
}

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

/** The lines batched for each stream, shared by every BufferedLog and flushed before a logLine's, so that a log reads in time order. */
const batches = { out: new Batch(process.stdout), err: new Batch(process.stderr) };

const batchOf = (level: LogLevel) => (level === 'info' ? batches.out : batches.err);

export class BufferedLog {
  line(level: LogLevel, text: string): void {
    const line = formatLine(level, text);
    if (line !== undefined) batchOf(level).add(line);
  }

  flush(): void {
    batches.out.flush();
    batches.err.flush();
  }
}

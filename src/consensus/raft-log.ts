// The in-memory Raft log of one node: entries contiguous after its base, views never decreasing, and
// an index of signature entries (the only commit points). The base is seqno 0, or the seqno of the
// snapshot the node started from, and moves up as committed entries are compacted away: everything
// up to it is committed, and only the view of each seqno there is kept (for statuses and log
// matching). Entries compacted while running (after the first base) can be rebuilt from their bytes,
// which the caller keeps in its ledger: the log keeps which of them were signatures and which set a
// configuration. So can entries up to the first base once the caller has read those facts from the
// ledger it holds before it (`holdLedgerBeforeBase`). It knows nothing of commit or durability; the
// state machine decides when it may append, truncate (never below the base) and compact (never past
// the commit).

import { CocoError, invariant } from '../errors.js';
import { configurationProblem } from './configurations.js';
import type { LogEntry } from './log-entry.js';
import { countAtMost } from '../sorted-search.js';

export interface LogPosition {
  seqno: number;
  view: number;
}

/** Where view `view` starts: its first seqno. */
export interface ViewStart {
  view: number;
  fromSeqno: number;
}

/**
 * A committed signature the log starts after (a snapshot's): `viewHistory` gives the view of every
 * seqno up to it, ascending in both fields from seqno 1, its last view being `view`.
 */
export interface LogBase {
  seqno: number;
  view: number;
  viewHistory: readonly ViewStart[];
}

/**
 * What the caller's ledger holds before the first base, read from it: every entry after
 * `afterSeqno` up to the first base, of which `signatures` (ascending, the first base last) are
 * signatures and `configurations` gives those that set a configuration.
 */
export interface LedgerBeforeBase {
  afterSeqno: number;
  signatures: readonly number[];
  configurations: ReadonlyMap<number, readonly string[]>;
}

const itself = (seqno: number): number => seqno;
const startSeqno = (start: ViewStart): number => start.fromSeqno;
const startView = (start: ViewStart): number => start.view;

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/** What is wrong with `base` as the start of a log, or undefined. */
function baseProblem(base: LogBase): string | undefined {
  if (typeof base !== 'object' || base === null) return 'the base is not an object';
  if (!isCount(base.seqno, 1) || !isCount(base.view, 1)) return `base ${String(base.view)}.${String(base.seqno)} is not a view and seqno from 1`;
  if (!Array.isArray(base.viewHistory) || base.viewHistory.length === 0) return 'the base view history is not a non-empty array';
  let previous: ViewStart = { view: 0, fromSeqno: 0 };
  for (const start of base.viewHistory as unknown[]) {
    const s = (typeof start === 'object' && start !== null ? start : {}) as Partial<ViewStart>;
    if (!isCount(s.view, previous.view + 1) || !isCount(s.fromSeqno, previous.fromSeqno + 1)) {
      return `view history item ${JSON.stringify(start)} does not follow view ${previous.view} from ${previous.fromSeqno}: views and their first seqnos must ascend`;
    }
    previous = s as ViewStart;
  }
  if (base.viewHistory[0]?.fromSeqno !== 1) return 'the base view history does not start at seqno 1';
  if (previous.fromSeqno > base.seqno) return `the base view history starts view ${previous.view} at ${previous.fromSeqno}, after the base seqno ${base.seqno}`;
  if (previous.view !== base.view) return `the base view history ends in view ${previous.view}, not in the base view ${base.view}`;
  return undefined;
}

/** What is wrong with `beforeBase` as the ledger before a first base at `firstBaseSeqno`, or undefined. */
function beforeBaseProblem(beforeBase: LedgerBeforeBase, firstBaseSeqno: number): string | undefined {
  const { afterSeqno, signatures, configurations } = beforeBase;
  if (!isCount(afterSeqno, 0) || afterSeqno >= firstBaseSeqno) return `it starts after seqno ${String(afterSeqno)}, not before the base ${firstBaseSeqno}`;
  let previous = afterSeqno;
  for (const seqno of signatures) {
    if (!isCount(seqno, previous + 1) || seqno > firstBaseSeqno) return `signature ${String(seqno)} is not after ${previous} and up to the base ${firstBaseSeqno}`;
    previous = seqno;
  }
  if (previous !== firstBaseSeqno) return `the base ${firstBaseSeqno} is not its last signature`;
  for (const [seqno, configuration] of configurations) {
    if (!isCount(seqno, afterSeqno + 1) || seqno > firstBaseSeqno) return `a configuration is set at ${String(seqno)}, outside ${afterSeqno + 1}..${firstBaseSeqno}`;
    const problem = configurationProblem(configuration);
    if (problem !== undefined) return `the configuration set at ${seqno}: ${problem}`;
  }
  return undefined;
}

export class RaftLog {
  private base: LogBase;
  /** The base the log started from: entries after it and up to `base` were compacted while running. */
  private readonly firstBaseSeqno: number;
  /** `entries[i]` holds seqno `base.seqno + 1 + i`. */
  private entries: LogEntry[] = [];
  /**
   * `dataEnds[i]`: bytes of entry data this log appended up to and including `entries[i]` (a running
   * total, so the bytes of any run of entries is a difference of two ends).
   */
  private dataEnds: number[] = [];
  /** The running total of `dataEnds` at the base. */
  private baseDataEnd = 0;
  /** Seqnos of signature entries after the first base, ascending (compacted ones included). */
  private readonly signatures: number[] = [];
  /** The configurations set by compacted entries, by seqno. */
  private readonly compactedConfigurations = new Map<number, readonly string[]>();
  /** The entries before the first base the caller's ledger holds, once it said so. */
  private beforeBase: LedgerBeforeBase | undefined;

  /**
   * Rebuilds a log from persisted entries; they must start right after the base (seqno 1 without
   * one), be contiguous and never go back in view. Throws CocoError('InvalidConsensusState').
   */
  constructor(initial: readonly LogEntry[] = [], base?: LogBase) {
    const problem = base === undefined ? undefined : baseProblem(base);
    if (problem !== undefined) throw new CocoError('InvalidConsensusState', `log base rejected: ${problem}; start from a consistent snapshot`);
    // A copy: compaction extends the history.
    this.base = { seqno: base?.seqno ?? 0, view: base?.view ?? 0, viewHistory: (base?.viewHistory ?? []).map(({ view, fromSeqno }) => ({ view, fromSeqno })) };
    this.firstBaseSeqno = this.base.seqno;
    for (const entry of initial) {
      if (entry.seqno !== this.lastSeqno + 1 || !Number.isSafeInteger(entry.view) || entry.view < this.lastView) {
        throw new CocoError('InvalidConsensusState', `persisted log entry ${entry.view}.${entry.seqno} does not follow ${this.lastView}.${this.lastSeqno}; restore the log from a consistent ledger`);
      }
      const problem = entry.configuration === undefined ? undefined : configurationProblem(entry.configuration);
      if (problem !== undefined) throw new CocoError('InvalidConsensusState', `persisted log entry ${entry.view}.${entry.seqno}: ${problem}; restore the log from a consistent ledger`);
      this.append(entry);
    }
  }

  /** The seqno the log holds entries after: 0, that of the snapshot the node started from, or where it compacted to. */
  get baseSeqno(): number {
    return this.base.seqno;
  }

  /** Entries after this seqno and up to the base can be rebuilt with `restore`. */
  get restorableAfter(): number {
    return this.beforeBase?.afterSeqno ?? this.firstBaseSeqno;
  }

  /**
   * The caller's ledger holds the entries before the first base that `beforeBase` describes: from
   * now on `restore` rebuilds them too. Throws CocoError('InvalidConsensusState') when the facts do
   * not fit this log (read from files the caller cannot vouch for).
   */
  holdLedgerBeforeBase(beforeBase: LedgerBeforeBase): void {
    const problem = beforeBaseProblem(beforeBase, this.firstBaseSeqno);
    if (problem !== undefined) throw new CocoError('InvalidConsensusState', `the ledger before the base is refused: ${problem}`);
    this.beforeBase = { afterSeqno: beforeBase.afterSeqno, signatures: [...beforeBase.signatures], configurations: new Map(beforeBase.configurations) };
  }

  get lastSeqno(): number {
    return this.base.seqno + this.entries.length;
  }

  /** Bytes of data of the entries the log holds in memory up to `seqno` (after the base, up to the log end). */
  dataBytesUpTo(seqno: number): number {
    return this.dataEndAt(Math.min(seqno, this.lastSeqno)) - this.baseDataEnd;
  }

  /**
   * The lowest seqno s from the base on such that the entries after s up to `toSeqno` (in the log)
   * hold at most `bytesMax` bytes of data.
   */
  seqnoKeepingBytes(toSeqno: number, bytesMax: number): number {
    invariant(toSeqno >= this.base.seqno && toSeqno <= this.lastSeqno, `byte count to ${toSeqno} outside ${this.base.seqno}..${this.lastSeqno}`);
    const floor = this.dataEndAt(toSeqno) - bytesMax;
    if (floor <= this.baseDataEnd) return this.base.seqno;
    return this.base.seqno + 1 + countAtMost(this.dataEnds, itself, floor - 1);
  }

  /** The running data total up to and including `seqno` (the base's at or below it). */
  private dataEndAt(seqno: number): number {
    return seqno > this.base.seqno ? (this.dataEnds[seqno - this.base.seqno - 1] as number) : this.baseDataEnd;
  }

  get lastView(): number {
    return this.entries.at(-1)?.view ?? this.base.view;
  }

  /** The view of the entry at `seqno` (0 for seqno 0, from the history at or below the base), or undefined past the end of the log. */
  viewOf(seqno: number): number | undefined {
    if (seqno === 0) return 0;
    if (seqno < 0 || seqno > this.base.seqno) return this.entries[seqno - this.base.seqno - 1]?.view;
    const history = this.base.viewHistory;
    return history[countAtMost(history, startSeqno, seqno) - 1]?.view;
  }

  /** The entry at `seqno`; undefined at or below the base (compacted) and past the end. */
  entry(seqno: number): LogEntry | undefined {
    return seqno > this.base.seqno ? this.entries[seqno - this.base.seqno - 1] : undefined;
  }

  /** Entries `from..to` inclusive, clipped to the log (after the base). */
  slice(from: number, to: number): LogEntry[] {
    return this.entries.slice(Math.max(from - this.base.seqno, 1) - 1, Math.max(to - this.base.seqno, 0));
  }

  append(entry: LogEntry): void {
    invariant(entry.seqno === this.lastSeqno + 1, `log append at ${entry.seqno} after ${this.lastSeqno}`);
    invariant(entry.view >= this.lastView, `log append in view ${entry.view} after view ${this.lastView}`);
    this.dataEnds.push(this.dataEndAt(this.lastSeqno) + entry.data.length);
    this.entries.push(entry);
    if (entry.isSignature) this.signatures.push(entry.seqno);
  }

  /**
   * Drops the entries up to `seqno`, a signature entry the caller knows committed, which becomes the
   * base: their views stay in the base's history, and `restore` rebuilds any of them from its bytes.
   */
  compactTo(seqno: number): void {
    invariant(seqno > this.base.seqno && seqno <= this.lastSeqno, `log compaction to ${seqno} outside ${this.base.seqno + 1}..${this.lastSeqno}`);
    invariant(this.signatureAtOrBefore(seqno) === seqno, `log compaction to ${seqno}, which is not a signature`);
    const count = seqno - this.base.seqno;
    const history = this.base.viewHistory as ViewStart[];
    for (let i = 0; i < count; i++) {
      const entry = this.entries[i] as LogEntry;
      if (entry.view !== (history.at(-1)?.view ?? 0)) history.push({ view: entry.view, fromSeqno: entry.seqno });
      if (entry.configuration !== undefined) this.compactedConfigurations.set(entry.seqno, entry.configuration);
    }
    this.baseDataEnd = this.dataEndAt(seqno);
    this.base = { seqno, view: this.viewOf(seqno) as number, viewHistory: history };
    this.entries = this.entries.slice(count);
    this.dataEnds = this.dataEnds.slice(count);
  }

  /** The entry at `seqno`, compacted away or before the first base, rebuilt around its bytes (as the caller's ledger holds them). */
  restore(seqno: number, data: Uint8Array): LogEntry {
    invariant(seqno > this.restorableAfter && seqno <= this.base.seqno, `restoring entry ${seqno} outside the compacted ${this.restorableAfter + 1}..${this.base.seqno}`);
    const beforeBase = seqno <= this.firstBaseSeqno ? this.beforeBase : undefined;
    const isSignature = beforeBase === undefined ? this.signatureAtOrBefore(seqno) === seqno : beforeBase.signatures[countAtMost(beforeBase.signatures, itself, seqno) - 1] === seqno;
    const entry: LogEntry = { seqno, view: this.viewOf(seqno) as number, data, isSignature };
    const configuration = (beforeBase?.configurations ?? this.compactedConfigurations).get(seqno);
    if (configuration !== undefined) entry.configuration = configuration;
    return entry;
  }

  /** Drops every entry after `seqno`, which is not below the base: committed entries never go. */
  truncateAfter(seqno: number): void {
    invariant(seqno >= this.base.seqno && seqno <= this.lastSeqno, `log truncation to ${seqno} outside ${this.base.seqno}..${this.lastSeqno}`);
    this.entries.length = seqno - this.base.seqno;
    this.dataEnds.length = this.entries.length;
    while ((this.signatures.at(-1) ?? 0) > seqno) this.signatures.pop();
  }

  /** The last committable entry: the last signature, else the base (a committed signature), else {0, 0}. */
  lastSignature(): LogPosition {
    const seqno = this.signatures.at(-1) ?? this.base.seqno;
    return { seqno, view: this.viewOf(seqno) ?? 0 };
  }

  /** The last commit point at or before `seqno`: a signature entry, or the base; 0 when none is known (below the base). */
  signatureAtOrBefore(seqno: number): number {
    const count = countAtMost(this.signatures, itself, seqno);
    if (count > 0) return this.signatures[count - 1] as number;
    return seqno >= this.base.seqno ? this.base.seqno : 0;
  }

  /** The first commit point at or after `seqno`: a signature entry, or the first base when `seqno` is at or before it; undefined past the last signature. */
  signatureAtOrAfter(seqno: number): number | undefined {
    if (seqno <= this.firstBaseSeqno && this.firstBaseSeqno > 0) return this.firstBaseSeqno;
    return this.signatures[countAtMost(this.signatures, itself, seqno - 1)];
  }

  /**
   * The largest seqno ≤ `seqno` whose view is ≤ `view`: where two logs may agree (fast backtracking).
   * At or below the base it comes from the view history, so it may fall below the base: a leader
   * learns from it that a follower lacks entries this log no longer holds.
   */
  lastMatchCandidate(seqno: number, view: number): number {
    let candidate = Math.min(seqno, this.lastSeqno);
    while (candidate > this.base.seqno && (this.viewOf(candidate) ?? 0) > view) candidate--;
    if (candidate > this.base.seqno || candidate <= 0) return Math.max(candidate, 0);
    // The views of the history ascend: the candidate is the seqno before the first later view starts.
    const history = this.base.viewHistory;
    const firstLater = history[countAtMost(history, startView, view)];
    return firstLater === undefined ? candidate : Math.min(candidate, firstLater.fromSeqno - 1);
  }
}

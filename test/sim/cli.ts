// `npm run sim`: runs many seeds of the simulation beyond what CI runs, shows progress, and on the
// first failure prints the seed, setup, step, violated invariant and the command that replays exactly
// that run (with `--verbose`, the replay prints its event trace). Exit code 0 if every run held, 1 on a
// failure, 2 on bad arguments.

import { CocoError } from '../../src/errors.js';
import { BROKEN_RULES } from './broken-rules.js';
import { FAULT_STEPS_DEFAULT, SETUPS, isSetup, runSeed, type SeedOutcome, type Setup, type SimStats } from './simulation.js';

export const USAGE = `usage: npm run sim -- --seeds N [--from S] [--nodes 3|5|grow] [--steps N] [--broken RULE] [--verbose]
       npm run sim -- --seed S --nodes 3|5|grow [--steps N] [--broken RULE] --verbose
  --seeds N     run N seeds (from --from, default 1), each in every setup unless --nodes picks one
  --seed S      run only seed S (replays a failure)
  --nodes       3 or 5 nodes from the start, or grow: from 1 node by joins, shrinking by retirements
  --steps N     fault-phase steps per run (default ${FAULT_STEPS_DEFAULT})
  --broken RULE run nodes that break a rule, to see the checker catch it: ${Object.keys(BROKEN_RULES).join(', ')}
  --verbose     print every event of every run`;

/** Seeds one invocation may ask for; a bound on how long it can run. */
const SEEDS_MAX = 10_000_000;
const STEPS_MAX = 10_000_000;
/** How often progress is reported. */
const PROGRESS_INTERVAL_MS = 1000;

export interface SimArgs {
  from: number;
  seeds: number;
  setups: readonly Setup[];
  steps: number;
  broken: string | undefined;
  verbose: boolean;
}

function bad(message: string): never {
  throw new CocoError('InvalidArguments', message);
}

function count(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) bad(`${flag} takes an integer in ${min}..${max}, not ${value ?? 'nothing'}`);
  return n;
}

/** Parses the arguments after `npm run sim --`; throws CocoError('InvalidArguments') on bad ones. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  const args: SimArgs = { from: 1, seeds: 1, setups: SETUPS, steps: FAULT_STEPS_DEFAULT, broken: undefined, verbose: false };
  let seedsGiven = false;
  let seedGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--verbose') {
      args.verbose = true;
      continue;
    }
    const value = argv[++i];
    switch (flag) {
      case '--seeds':
        args.seeds = count(flag, value, 1, SEEDS_MAX);
        seedsGiven = true;
        break;
      case '--from':
        args.from = count(flag, value, 0, Number.MAX_SAFE_INTEGER - SEEDS_MAX);
        break;
      case '--seed':
        args.from = count(flag, value, 0, Number.MAX_SAFE_INTEGER);
        seedGiven = true;
        break;
      case '--nodes':
        if (value === undefined || !isSetup(value)) bad(`--nodes takes ${SETUPS.join(', ')}, not ${value ?? 'nothing'}`);
        args.setups = [value];
        break;
      case '--steps':
        args.steps = count(flag, value, 0, STEPS_MAX);
        break;
      case '--broken':
        if (value === undefined || !(value in BROKEN_RULES)) bad(`--broken takes one of ${Object.keys(BROKEN_RULES).join(', ')}, not ${value ?? 'nothing'}`);
        args.broken = value;
        break;
      default:
        bad(`unknown argument ${flag}`);
    }
  }
  if (seedGiven && seedsGiven) bad('give either --seed S (one seed) or --seeds N [--from S], not both');
  if (!seedGiven && !seedsGiven) bad('say how many seeds to run: --seeds N, or one seed: --seed S');
  return args;
}

/** The command that replays exactly one run, with its event trace. */
export function replayCommand(seed: number, setup: Setup, options: { steps?: number; broken?: string | undefined } = {}): string {
  const steps = options.steps !== undefined && options.steps !== FAULT_STEPS_DEFAULT ? ` --steps ${options.steps}` : '';
  const broken = options.broken !== undefined ? ` --broken ${options.broken}` : '';
  return `npm run sim -- --seed ${seed} --nodes ${setup}${steps}${broken} --verbose`;
}

/** The report of a failed run: what broke, where, and how to replay it. */
export function failureReport(outcome: SeedOutcome, options: { steps?: number; broken?: string | undefined } = {}): string {
  const failure = outcome.failure;
  if (failure === undefined) return `seed ${outcome.seed} (--nodes ${outcome.setup}) passed`;
  return [
    `FAILED: seed ${outcome.seed}, setup --nodes ${outcome.setup}, at step ${failure.step} (clock tick ${failure.clock})`,
    `  violated: ${failure.invariant}`,
    `  detail:   ${failure.detail}`,
    `  replay:   ${replayCommand(outcome.seed, outcome.setup, options)}`,
  ].join('\n');
}

/** Sums of the runs' counts, by the names of SimStats and NetworkStats, and the slowest progress. */
type Totals = Map<string, number>;

function addStats(totals: Totals, stats: SimStats): void {
  const { messages, ticksToProgress, targetSize: _size, largestCommittedConfiguration: _largest, ...counts } = stats;
  for (const [key, value] of Object.entries({ ...counts, ...messages })) totals.set(key, (totals.get(key) ?? 0) + value);
  totals.set('ticksToProgressMax', Math.max(totals.get('ticksToProgressMax') ?? 0, ticksToProgress));
}

function summary(runs: number, seconds: number, totals: Totals): string {
  const n = (key: string): number => totals.get(key) ?? 0;
  return `${runs} runs held every invariant in ${seconds.toFixed(1)} s: ${n('steps')} steps, ${n('clockTicks')} clock ticks, `
    + `${n('committedSeqno')} entries committed, ${n('primaryViews')} views with a primary, `
    + `${n('crashes')} crashes (${n('writesLost')} unflushed writes lost), ${n('symmetricPartitions')} symmetric and ${n('oneWayPartitions')} one-way partitions, `
    + `${n('sent')} messages sent (${n('lost')} lost, ${n('cut')} cut, ${n('duplicated')} duplicated, ${n('deliveredLate')} delivered late, ${n('deliveredOutOfOrder')} out of order), `
    + `${n('joinsCommitted')} joins and ${n('retirementsCommitted')} retirements committed; progress took at most ${n('ticksToProgressMax')} ticks`;
}

export interface SimIo {
  /** A line of output. */
  out: (line: string) => void;
  /** A progress line, which may replace the previous one. */
  progress?: (line: string) => void;
  /** Milliseconds from some fixed point, for progress and timing. */
  now?: () => number;
}

/** Runs the command; returns its exit code. */
export function main(argv: readonly string[], io: SimIo): number {
  if (argv.length === 0) {
    io.out(USAGE);
    return 0;
  }
  let args: SimArgs;
  try {
    args = parseSimArgs(argv);
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    io.out(`${error.message}\n${USAGE}`);
    return 2;
  }
  const now = io.now ?? (() => performance.now());
  const started = now();
  let lastProgress = started;
  const totals: Totals = new Map();
  const total = args.seeds * args.setups.length;
  const makeNode = args.broken === undefined ? undefined : BROKEN_RULES[args.broken]?.makeNode;
  const trace = args.verbose ? io.out : undefined;
  let runs = 0;
  for (let seed = args.from; seed < args.from + args.seeds; seed++) {
    for (const setup of args.setups) {
      const outcome = runSeed(seed, setup, { faultSteps: args.steps, ...(makeNode && { makeNode }), ...(trace && { trace }) });
      runs++;
      if (outcome.failure !== undefined) {
        io.out(failureReport(outcome, { steps: args.steps, broken: args.broken }));
        return 1;
      }
      addStats(totals, outcome.stats);
      if (io.progress !== undefined && now() - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now();
        io.progress(`${runs}/${total} runs passed (seed ${seed}, ${((lastProgress - started) / 1000).toFixed(0)} s)`);
      }
    }
  }
  io.out(summary(runs, (now() - started) / 1000, totals));
  return 0;
}

// Runs the constitution and ballots in QuickJS with CCF's rules: `validate`, `resolve` and ballots
// read-only, `apply` with write access to the governance tables and the node's effects, which only
// its interpreter has. As in CCF, every call runs in a fresh interpreter: the constitution is
// compiled once per text and interpreter, which is reset after each call, and each ballot loads
// into an interpreter of its own. A script that breaks an interpreter is followed by a spare (see
// GovernanceInterpreter). Runtime limits are at least the defaults, as CCF's
// NO_LOWER_THAN_DEFAULTS, except the time limit, which the node caps below its election timeout: a
// constitution or ballot that loops must not hold the primary long enough for the other nodes to
// elect another (one built-in call on a large value still can: see docs/js-isolation.md). Each
// ballot gets an equal share of one script's time, among the members who may vote: every vote runs
// all the proposal's ballots again, and ballots that loop would otherwise hold the primary once per
// ballot. The share is the same whoever has voted, so that a member's ballot does not pass alone
// and fail once others voted.

import { CocoError } from '../errors.js';
import type { CallEnv } from '../js/call-env.js';
import type { JsInterpreter } from '../js/interpreter.js';
import { DEFAULT_JS_LIMITS } from '../js/js-limits.js';
import { JS_TIMEOUT_MESSAGE, JsExceptionError, QUICKJS_LIMIT_REASONS } from '../js/js-exception.js';
import type { JsHost } from '../js/js-host.js';
import type { JsValue } from '../js/js-value.js';
import type { Transaction } from '../kv/transaction.js';
import { ScriptError, type BallotContext, type ConstitutionRunner, type Vote } from './constitution-runner.js';
import { applyEffects, constitutionGlobals, type ApplyExtension, type GovernanceHost } from './gov-effects.js';
import { GovernanceInterpreter } from './governance-interpreter.js';
import { BALLOT_MODULE, CONSTITUTION_MODULE, ScriptChecker } from './script-checker.js';

/** A ballot's share of the time never drops below this, however many members may vote. */
const BALLOT_TIME_MIN_MS = 5;

export class JsConstitutionRunner implements ConstitutionRunner {
  /** The constitution text each interpreter has compiled, to be reset to after each call. */
  private readonly loaded = new WeakMap<JsInterpreter, string>();

  private constructor(
    /** `validate` and `resolve`: the constitution's globals without apply's effects. */
    private readonly constitutionInterpreter: GovernanceInterpreter,
    private readonly applyInterpreter: GovernanceInterpreter,
    private readonly ballotInterpreter: GovernanceInterpreter,
    private readonly checker: ScriptChecker,
    private readonly host: JsHost,
    private readonly governanceHost: GovernanceHost,
    /** How long one script may run. */
    private readonly timeLimitMs: number,
  ) {}

  /** `maxExecutionTimeMs`: how long one script may run (the default limit when absent). */
  static async create(host: JsHost, governanceHost: GovernanceHost, options: { maxExecutionTimeMs?: number } = {}): Promise<JsConstitutionRunner> {
    const limits = options.maxExecutionTimeMs === undefined ? {} : { limits: { maxExecutionTimeMs: options.maxExecutionTimeMs } };
    const checker = await ScriptChecker.create(limits.limits);
    const [constitution, applying, ballots] = await Promise.all([
      GovernanceInterpreter.create({ installers: [constitutionGlobals(checker)], ...limits }),
      GovernanceInterpreter.create({ installers: [constitutionGlobals(checker), applyEffects(checker)], ...limits }),
      GovernanceInterpreter.create({ ...limits }),
    ]);
    return new JsConstitutionRunner(constitution, applying, ballots, checker, host, governanceHost, options.maxExecutionTimeMs ?? DEFAULT_JS_LIMITS.maxExecutionTimeMs);
  }

  private env(tx: Transaction, kvContext: CallEnv['kvContext'], extension?: ApplyExtension): CallEnv {
    return { host: this.host, tx, kvContext, ...(extension === undefined ? {} : { extension }) };
  }

  /** Runs `call` in `governance`'s interpreter, loaded with `constitution`, then resets it. */
  private inConstitution<T>(governance: GovernanceInterpreter, constitution: string, call: (interpreter: JsInterpreter) => T): T {
    const interpreter = governance.interpreter;
    if (this.loaded.get(interpreter) !== constitution) {
      this.loaded.delete(interpreter);
      interpreter.load(new Map([[CONSTITUTION_MODULE, constitution]]), { resettable: true });
      this.loaded.set(interpreter, constitution);
    }
    try {
      return run(() => call(interpreter), this.proposalTimeoutReason());
    } finally {
      if (interpreter.isUsable) interpreter.reset();
    }
  }

  /**
   * Why validate, resolve or apply stopped at the time limit: CCF's reason, then what to do, as a
   * proposal's size is what usually takes the time (hundreds of certificates to check).
   */
  private proposalTimeoutReason(): string {
    return `${JS_TIMEOUT_MESSAGE} The proposal may be too large for the time limit of governance scripts (${this.timeLimitMs} ms, at most half of consensus.election_timeout_ms): split it into smaller proposals, or raise consensus.election_timeout_ms.`;
  }

  private callConstitution(governance: GovernanceInterpreter, constitution: string, exportName: string, args: JsValue[], env: CallEnv): JsValue | undefined {
    return this.inConstitution(governance, constitution, (interpreter) => interpreter.call(CONSTITUTION_MODULE, exportName, args, env));
  }

  validate(tx: Transaction, constitution: string, proposal: string): { valid: boolean; description: string } {
    const result = this.callConstitution(this.constitutionInterpreter, constitution, 'validate', [proposal], this.env(tx, 'governance-readonly'));
    if (typeof result !== 'object' || result === null || Array.isArray(result) || result instanceof Uint8Array) {
      throw new ScriptError({ reason: 'Validation failed to return an object' });
    }
    const record = result as Record<string, JsValue | undefined>;
    return { valid: record.valid === true, description: typeof record.description === 'string' ? record.description : '' };
  }

  vote(tx: Transaction, ballot: string, proposal: string, proposerId: string, context: BallotContext): boolean {
    const interpreter = this.ballotInterpreter.interpreter;
    interpreter.load(new Map([[BALLOT_MODULE, ballot]]));
    const env = { ...this.env(tx, 'governance-readonly'), maxExecutionTimeMs: Math.max(BALLOT_TIME_MIN_MS, this.timeLimitMs / Math.max(1, context.voterCount)) };
    try {
      interpreter.checkExports(BALLOT_MODULE, ['vote'], env);
    } catch (error) {
      throw ballotLoadError(error, context.name);
    }
    // The strings as they are (no JSON to parse in the script's time): a ballot's share of the time
    // limit is small with many members, and a large proposal's marshalling alone took most of it.
    return run(() => interpreter.call(BALLOT_MODULE, 'vote', (vm) => [vm.newString(proposal), vm.newString(proposerId)], env), JS_TIMEOUT_MESSAGE) === true;
  }

  resolve(tx: Transaction, constitution: string, proposal: string, proposerId: string, votes: Vote[], proposalId: string): string {
    const voteValues: JsValue = votes.map((v) => ({ member_id: v.member_id, vote: v.vote }));
    const args = [proposal, proposerId, voteValues, proposalId];
    // As CCF reads the state: the result converted to a string, so ["Accepted"] is "Accepted".
    return this.inConstitution(this.constitutionInterpreter, constitution, (interpreter) => interpreter.callForText(CONSTITUTION_MODULE, 'resolve', args, this.env(tx, 'governance-readonly')));
  }

  apply(tx: Transaction, constitution: string, proposal: string, proposalId: string): void {
    this.callConstitution(this.applyInterpreter, constitution, 'apply', [proposal, proposalId], this.env(tx, 'governance-apply', { kind: 'apply', host: this.governanceHost }));
  }

  checkConstitution(tx: Transaction, constitution: string): void {
    this.checker.checkConstitution(constitution, this.env(tx, 'governance-readonly'));
  }

  dispose(): void {
    this.constitutionInterpreter.dispose();
    this.applyInterpreter.dispose();
    this.ballotInterpreter.dispose();
    this.checker.dispose();
  }
}

/** A parse error's trace is only its place ("at ballot.js:1"); an exception thrown as a module runs names a frame. */
const PARSE_ERROR_PLACE = /^\s*at ([^\s()]+:\d+)\s*$/;

/**
 * Why a ballot did not load, in CCF's words, which name the ballot where CCF stores it; Node errors
 * pass unchanged. As in CCF, this fails the whole request: no vote is recorded, so the member can
 * send a ballot that loads (CCF records nothing either).
 */
function ballotLoadError(error: unknown, name: string): unknown {
  if (!(error instanceof CocoError) || !error.code.startsWith('Js')) return error;
  let message: string;
  if (error instanceof JsExceptionError) {
    const reason = error.jsName ? `${error.jsName}: ${error.jsMessage}` : error.jsMessage;
    const place = error.jsName === 'SyntaxError' ? PARSE_ERROR_PLACE.exec(error.jsStack ?? '')?.[1] : undefined;
    message = place === undefined ? `Failed to execute ${name}: ${reason}` : `Failed to compile ${name}: ${reason} at ${place}`;
  } else if (error.code === 'JsModuleError') {
    // "Failed to find export 'vote' in module '...'", "Export 'vote' of module '...' is not a function".
    message = error.message.replaceAll(`'${BALLOT_MODULE}'`, `'${name}'`);
  } else {
    message = `Failed to execute ${name}: ${error.code === 'JsExecutionTimeout' ? JS_TIMEOUT_MESSAGE : QUICKJS_LIMIT_REASONS[error.code] ?? error.message}`;
  }
  return new CocoError('InternalError', `${message}. Nothing was recorded: a ballot must compile, run its top level without throwing and export a function vote(proposal, proposerId)`);
}

/**
 * Script failures become ScriptErrors carrying CCF's reason (QuickJS's, for a limit; `timeoutReason`
 * for the time limit) and trace.
 */
function run<T>(call: () => T, timeoutReason: string): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof JsExceptionError) throw new ScriptError({ reason: error.jsName ? `${error.jsName}: ${error.jsMessage}` : error.jsMessage, ...(error.jsStack ? { trace: error.jsStack } : {}) });
    if (error instanceof CocoError && error.code === 'JsExecutionTimeout') throw new ScriptError({ reason: timeoutReason });
    if (error instanceof CocoError && error.code.startsWith('Js')) throw new ScriptError({ reason: QUICKJS_LIMIT_REASONS[error.code] ?? error.message });
    throw error;
  }
}

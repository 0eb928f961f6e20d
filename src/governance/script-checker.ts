// Checks the scripts a proposal is about to install, in an interpreter of their own, before the
// transaction commits: a constitution must evaluate and export `validate`, `resolve` and `apply`
// as functions, and every module of a JS app must compile. A script that cannot run, once
// installed, would fail every later proposal (governance lost) or every request (app lost). The
// CLI checks a ballot the same way before submitting it: a member votes only once.

import { CocoError } from '../errors.js';
import type { CallEnv } from '../js/call-env.js';
import type { JsInterpreter, JsInterpreterOptions } from '../js/interpreter.js';
import { GovernanceInterpreter } from './governance-interpreter.js';

/** The module name the constitution is loaded under, to check it and to run it. */
export const CONSTITUTION_MODULE = '/constitution.js';
const CONSTITUTION_EXPORTS = ['validate', 'resolve', 'apply'] as const;
/** The module name a ballot is loaded under, to check it and to run it. */
export const BALLOT_MODULE = '/ballot.js';

export class ScriptChecker {
  private constructor(private readonly interpreter: GovernanceInterpreter) {}

  /** `limits`: those of the governance interpreters, which a constitution will run under. */
  static async create(limits: JsInterpreterOptions['limits'] = {}): Promise<ScriptChecker> {
    return new ScriptChecker(await GovernanceInterpreter.create({ limits }));
  }

  /** CocoError 'InvalidConstitution' saying why `source` cannot serve as the constitution. */
  checkConstitution(source: string, env: CallEnv): void {
    this.#check('InvalidConstitution', 'the constitution cannot run, so it is refused: ', (interpreter) => {
      interpreter.load(new Map([[CONSTITUTION_MODULE, source]]));
      interpreter.checkExports(CONSTITUTION_MODULE, CONSTITUTION_EXPORTS, env);
    });
  }

  /** CocoError 'InvalidBallot' saying why `source` cannot serve as a ballot: it throws at load or exports no `vote`. */
  checkBallot(source: string, env: CallEnv): void {
    this.#check('InvalidBallot', 'the ballot cannot run: ', (interpreter) => {
      interpreter.load(new Map([[BALLOT_MODULE, source]]));
      interpreter.checkExports(BALLOT_MODULE, ['vote'], env);
    });
  }

  /** CocoError 'InvalidAppBundle' naming the first of `modules` (name -> source) that does not compile. */
  checkAppModules(modules: ReadonlyMap<string, string>): void {
    this.#check('InvalidAppBundle', 'Failed to refresh bytecode: ', (interpreter) => {
      interpreter.load(modules);
      interpreter.compileModules();
    });
  }

  dispose(): void {
    this.interpreter.dispose();
  }

  /** Runs `check`; a JS failure becomes `code` with `prefix` (a script that breaks the interpreter included). */
  #check(code: string, prefix: string, check: (interpreter: JsInterpreter) => void): void {
    try {
      check(this.interpreter.interpreter);
    } catch (error) {
      if (error instanceof CocoError && error.code.startsWith('Js')) throw new CocoError(code, `${prefix}${error.message}`, { cause: error });
      throw error;
    }
  }
}

// Checks the scripts a proposal is about to install, in an interpreter of their own, before the
// transaction commits: a constitution must evaluate and export `validate`, `resolve` and `apply`
// as functions, and every module of a JS app must compile. A script that cannot run, once
// installed, would fail every later proposal (governance lost) or every request (app lost).

import { CocoError } from '../errors.js';
import type { CallEnv } from '../js/call-env.js';
import { JsInterpreter, type JsInterpreterOptions } from '../js/interpreter.js';

/** The module name the constitution is loaded under, to check it and to run it. */
export const CONSTITUTION_MODULE = '/constitution.js';
const CONSTITUTION_EXPORTS = ['validate', 'resolve', 'apply'] as const;

export class ScriptChecker {
  #interpreter: JsInterpreter;
  /** Set while a new interpreter replaces one a script left unusable. */
  #replacing: Promise<void> | undefined;

  private constructor(
    interpreter: JsInterpreter,
    private readonly limits: JsInterpreterOptions['limits'],
  ) {
    this.#interpreter = interpreter;
  }

  /** `limits`: those of the governance interpreters, which a constitution will run under. */
  static async create(limits: JsInterpreterOptions['limits'] = {}): Promise<ScriptChecker> {
    return new ScriptChecker(await JsInterpreter.create({ limits }), limits);
  }

  /** CocoError 'InvalidConstitution' saying why `source` cannot serve as the constitution. */
  checkConstitution(source: string, env: CallEnv): void {
    this.#check('InvalidConstitution', 'the constitution cannot run, so it is refused: ', (interpreter) => {
      interpreter.load(new Map([[CONSTITUTION_MODULE, source]]));
      interpreter.checkExports(CONSTITUTION_MODULE, CONSTITUTION_EXPORTS, env);
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
    this.#interpreter.dispose();
  }

  /**
   * Runs `check`; a JS failure becomes `code` with `prefix`. A script can leave the interpreter
   * unusable (Node's own stack overflowed inside QuickJS): it is then replaced in the background,
   * and checks refuse meanwhile rather than blame the next script for the last one.
   */
  #check(code: string, prefix: string, check: (interpreter: JsInterpreter) => void): void {
    if (!this.#interpreter.isUsable) {
      this.#replace();
      throw new CocoError('ScriptCheckerUnavailable', 'the script checker is being replaced after a script broke it; propose again in a moment');
    }
    try {
      check(this.#interpreter);
    } catch (error) {
      if (!this.#interpreter.isUsable) this.#replace();
      if (error instanceof CocoError && error.code.startsWith('Js')) throw new CocoError(code, `${prefix}${error.message}`, { cause: error });
      throw error;
    }
  }

  #replace(): void {
    if (this.#replacing !== undefined) return;
    this.#replacing = JsInterpreter.create({ limits: this.limits }).then(
      (interpreter) => {
        this.#interpreter = interpreter;
        this.#replacing = undefined;
      },
      // The next check tries again.
      () => {
        this.#replacing = undefined;
      },
    );
  }
}

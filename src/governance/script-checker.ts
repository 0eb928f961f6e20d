// Checks the scripts a proposal is about to install, in an interpreter of their own, before the
// transaction commits: a constitution must evaluate and export `validate`, `resolve` and `apply`
// as functions, and every module of a JS app must compile. A script that cannot run, once
// installed, would fail every later proposal (governance lost) or every request (app lost).

import { CocoError } from '../errors.js';
import type { CallEnv } from '../js/call-env.js';
import { JsInterpreter, type JsInterpreterOptions } from '../js/interpreter.js';

const CONSTITUTION_MODULE = '/constitution.js';
const CONSTITUTION_EXPORTS = ['validate', 'resolve', 'apply'] as const;

export class ScriptChecker {
  private constructor(private readonly interpreter: JsInterpreter) {}

  /** `limits`: those of the governance interpreters, which a constitution will run under. */
  static async create(limits: JsInterpreterOptions['limits'] = {}): Promise<ScriptChecker> {
    return new ScriptChecker(await JsInterpreter.create({ limits }));
  }

  /** CocoError 'InvalidConstitution' saying why `source` cannot serve as the constitution. */
  checkConstitution(source: string, env: CallEnv): void {
    try {
      this.interpreter.load(new Map([[CONSTITUTION_MODULE, source]]));
      this.interpreter.checkExports(CONSTITUTION_MODULE, CONSTITUTION_EXPORTS, env);
    } catch (error) {
      if (error instanceof CocoError && error.code.startsWith('Js')) {
        throw new CocoError('InvalidConstitution', `the constitution cannot run, so it is refused: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** CocoError 'InvalidAppBundle' naming the first of `modules` (name -> source) that does not compile. */
  checkAppModules(modules: ReadonlyMap<string, string>): void {
    try {
      this.interpreter.load(modules);
      this.interpreter.compileModules();
    } catch (error) {
      if (error instanceof CocoError && error.code.startsWith('Js')) {
        throw new CocoError('InvalidAppBundle', `Failed to refresh bytecode: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  dispose(): void {
    this.interpreter.dispose();
  }
}

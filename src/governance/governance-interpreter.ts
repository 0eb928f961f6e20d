// An interpreter for governance scripts that a script cannot take out of service. A script can
// leave an interpreter unusable (Node's own stack overflowed inside QuickJS, e.g. an eval of deeply
// nested brackets); governance must not then fail every later ballot or proposal until the primary
// changes. A spare, created ahead, takes over at once, and a new spare is made in the background.

import { CocoError } from '../errors.js';
import { JsInterpreter, type JsInterpreterOptions } from '../js/interpreter.js';

export class GovernanceInterpreter {
  #current: JsInterpreter;
  #spare: JsInterpreter | undefined;
  #making: Promise<void> | undefined;
  #disposed = false;

  private constructor(
    current: JsInterpreter,
    spare: JsInterpreter,
    private readonly options: JsInterpreterOptions,
  ) {
    this.#current = current;
    this.#spare = spare;
  }

  /** Interpreters with `options`, and the `ccf` global CCF gives governance scripts. */
  static async create(options: Omit<JsInterpreterOptions, 'globals'>): Promise<GovernanceInterpreter> {
    const governance: JsInterpreterOptions = { ...options, globals: 'governance' };
    const [current, spare] = await Promise.all([JsInterpreter.create(governance), JsInterpreter.create(governance)]);
    return new GovernanceInterpreter(current, spare, governance);
  }

  /**
   * A usable interpreter: the spare when the last one broke (compare it with the one used before to
   * know whether it must load its scripts again). GovernanceUnavailable when scripts broke both
   * and no new one is ready yet.
   */
  get interpreter(): JsInterpreter {
    if (!this.#current.isUsable) {
      if (this.#spare === undefined) {
        this.#makeSpare();
        throw new CocoError('GovernanceUnavailable', 'the governance interpreters are being replaced after scripts broke them; try again in a moment');
      }
      this.#current.dispose();
      this.#current = this.#spare;
      this.#spare = undefined;
      this.#makeSpare();
    }
    return this.#current;
  }

  dispose(): void {
    this.#disposed = true;
    this.#current.dispose();
    this.#spare?.dispose();
  }

  #makeSpare(): void {
    if (this.#making !== undefined) return;
    this.#making = JsInterpreter.create(this.options).then(
      (interpreter) => {
        this.#making = undefined;
        if (this.#disposed) interpreter.dispose();
        else this.#spare = interpreter;
      },
      // The next use that needs a spare tries again.
      () => {
        this.#making = undefined;
      },
    );
  }
}

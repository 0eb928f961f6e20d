import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { ScriptChecker } from '../../src/governance/script-checker.js';
import { testCall } from '../js/js-test-host.js';
import { until } from '../support/until.js';

const GOOD = 'export function validate() { return { valid: true }; } export function resolve() { return "Open"; } export function apply() {}';
/** Parsing this overflows Node's stack inside QuickJS, which leaves the interpreter unusable. */
const BREAKS_THE_PARSER = `const x = ${'('.repeat(20_000)}1${')'.repeat(20_000)};\n${GOOD}`;

const code = (expected: string) => (error: unknown) => error instanceof CocoError && error.code === expected;

test('a script that breaks the checker is refused, and the next check runs at once in its spare', async () => {
  const checker = await ScriptChecker.create();
  const { env } = testCall();
  try {
    checker.checkConstitution(GOOD, env);
    assert.throws(() => checker.checkConstitution(BREAKS_THE_PARSER, env), code('InvalidConstitution'));
    checker.checkAppModules(new Map([['/app.js', 'export const a = 1;']]));
    assert.throws(() => checker.checkAppModules(new Map([['/app.js', 'export const a = ;']])), code('InvalidAppBundle'));
    // A second break before the new spare is ready: governance says so rather than blame the script.
    assert.throws(() => checker.checkConstitution(BREAKS_THE_PARSER, env), code('InvalidConstitution'));
    await until('a new spare', 30_000, async () => {
      try {
        checker.checkConstitution(GOOD, env);
        return true;
      } catch (error) {
        if (error instanceof CocoError && error.code === 'GovernanceUnavailable') return undefined;
        throw error;
      }
    });
  } finally {
    checker.dispose();
  }
});

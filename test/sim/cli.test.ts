import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { main, parseSimArgs, replayCommand } from './cli.js';
import { FAULT_STEPS_DEFAULT, SETUPS } from './simulation.js';

function run(argv: readonly string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = main(argv, { out: (text) => lines.push(...text.split('\n')) });
  return { code, lines };
}

test('sim arguments: a number of seeds from a start, in every setup or one, or a single seed, with steps, a broken rule and a trace', () => {
  const defaults = { from: 1, seeds: 1, setups: SETUPS, steps: FAULT_STEPS_DEFAULT, broken: undefined, verbose: false };
  assert.deepEqual(parseSimArgs(['--seeds', '100']), { ...defaults, seeds: 100 });
  assert.deepEqual(parseSimArgs(['--seeds', '10', '--from', '351', '--nodes', 'grow', '--steps', '9000']), { ...defaults, seeds: 10, from: 351, setups: ['grow'], steps: 9000 });
  assert.deepEqual(parseSimArgs(['--seed', '12345', '--nodes', '5', '--broken', 'vote-twice', '--verbose']), { ...defaults, from: 12345, setups: ['5'], broken: 'vote-twice', verbose: true });
});

test('wrong sim arguments are refused, saying what to give instead', () => {
  const cases: [string[], RegExp][] = [
    [['--seeds'], /--seeds takes an integer in 1\.\.\d+, not nothing/],
    [['--seeds', '0'], /--seeds takes an integer/],
    [['--seeds', '1.5'], /--seeds takes an integer/],
    [['--seeds', '10', '--nodes', '4'], /--nodes takes 3, 5, grow, not 4/],
    [['--seed', '1', '--seeds', '2'], /either --seed S .* or --seeds N/],
    [['--nodes', '3'], /say how many seeds to run/],
    [['--seeds', '1', '--broken', 'nope'], /--broken takes one of minority-commit, /],
    [['--fast'], /unknown argument --fast/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseSimArgs(argv), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArguments' && message.test(e.message), argv.join(' '));
  }
});

test('npm run sim without arguments prints its usage and succeeds (node --test runs it so); bad arguments exit with 2', () => {
  const bare = run([]);
  assert.equal(bare.code, 0);
  assert.match(bare.lines[0] as string, /^usage: npm run sim -- --seeds N/);
  const wrong = run(['--seeds', 'many']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.lines[0] as string, /--seeds takes an integer/);
  assert.ok(wrong.lines.some((line) => line.startsWith('usage:')));
});

test('npm run sim runs the seeds asked for and sums up what they exercised', () => {
  const { code, lines } = run(['--seeds', '2', '--from', '5', '--nodes', '3', '--steps', '300']);
  assert.equal(code, 0);
  assert.match(lines.at(-1) as string, /^2 runs held every invariant in [\d.]+ s: \d+ steps, \d+ clock ticks, \d+ entries committed/);
});

test('on a failure npm run sim exits with 1 and prints the seed, setup, step, invariant and a command that replays exactly that run with its trace', () => {
  const first = run(['--seeds', '40', '--nodes', '5', '--broken', 'vote-twice']);
  assert.equal(first.code, 1);
  const report = first.lines.join('\n');
  const match = /^FAILED: seed (\d+), setup --nodes 5, at step (\d+) \(clock tick \d+\)$/m.exec(report);
  assert.ok(match, report);
  const [seed, step] = [Number(match[1]), match[2] as string];
  assert.match(report, /^ {2}violated: at most one primary per view$/m);
  assert.match(report, /^ {2}detail: {3}n\d and n\d both became primary of view \d+$/m);
  const command = replayCommand(seed, '5', { broken: 'vote-twice' });
  assert.equal(command, `npm run sim -- --seed ${seed} --nodes 5 --broken vote-twice --verbose`);
  assert.ok(first.lines.includes(`  replay:   ${command}`), report);

  const replay = run(command.split(' ').slice(4));
  assert.equal(replay.code, 1);
  assert.deepEqual(replay.lines.slice(-4), first.lines.slice(-4), 'the replay fails the same way');
  const trace = replay.lines.filter((line) => line.startsWith('#'));
  assert.ok(trace.length > 10, 'the replay prints its events');
  assert.ok((trace.at(-1) as string).startsWith(`#${step} `), `the trace ends at the failing step ${step}`);
});

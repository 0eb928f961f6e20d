// How `coco` answers for help and for a wrong command line: help on stdout with exit 0, a usage
// error on stderr with exit 2, for the command and every subcommand, as the README promises.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { LOG_LINE_PREFIX } from '../../src/node/buffered-log.js';
import { ccfLedgersDir } from '../support/paths.js';
import { runCoco } from '../support/run-cli.js';
import { testPortPair } from '../support/test-ports.js';

const HELP_REQUESTS: string[][] = [
  ['--help'],
  ['-h'],
  ['help'],
  ['ledger', '--help'],
  ['ledger', '-h'],
  ['ledger', 'verify', '--help'],
  ['ledger', 'show', '--help'],
  ['ledger', 'fetch', '--help'],
  ['gov', '--help'],
  ['gov', 'propose', '--help'],
  ['gov', 'vote', '--help'],
  ['gov', 'withdraw', '--help'],
  ['gov', 'ack', '--help'],
  ['gov', 'status', '--help'],
  ['app', '--help'],
  ['app', 'deploy', '--help'],
  ['receipt', '--help'],
  ['receipt', 'verify', '--help'],
  ['keygen', '--help'],
  ['sandbox', '--help'],
  ['node', '--help'],
];

test('every command and subcommand answers --help with its usage on stdout and exit 0', () => {
  for (const args of HELP_REQUESTS) {
    const result = runCoco(args);
    assert.equal(result.status, 0, `coco ${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stdout, /^Usage: coco /, `coco ${args.join(' ')}`);
    assert.equal(result.stderr, '', `coco ${args.join(' ')}`);
  }
});

test('each gov command answers --help with its own usage; vote says what a --ballot file holds', () => {
  for (const command of ['propose', 'vote', 'withdraw', 'ack', 'status']) {
    const result = runCoco(['gov', command, '--help']);
    assert.match(result.stdout, new RegExp(`^Usage: coco gov ${command}\\b`), command);
    assert.match(result.stdout, /^ {2}--workspace DIR /m, `${command}: the connection options`);
  }
  const vote = runCoco(['gov', 'vote', '--help']).stdout;
  assert.match(vote, /JavaScript source, or CCF's JSON form \{"ballot": "<that source>"\}/);
  assert.match(vote, /export function vote \(proposal, proposerId\)/);
  assert.match(runCoco(['gov', 'vote', '--accept']).stderr, /\n\nUsage: coco gov vote ID /, 'a usage error shows the command\'s usage');
});

test('a missing or unknown command is a usage error: the message and usage on stderr, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [[], /^coco: missing command\n\nUsage: coco <command>/],
    [['frobnicate'], /^coco: unknown command "frobnicate"\n\nUsage: coco <command>/],
    [['ledger'], /^coco: missing ledger command\n\nUsage: coco ledger <command>/],
    [['gov'], /^coco: missing gov command\n\nUsage: coco gov <command>/],
    [['gov', 'frobnicate'], /^coco: unknown gov command "frobnicate"\n\nUsage: coco gov <command>/],
    [['app'], /^coco: missing app command\n\nUsage: coco app deploy/],
    [['app', 'frobnicate'], /^coco: unknown app command "frobnicate"\n\nUsage: coco app deploy/],
    [['receipt'], /^coco: missing receipt command\n\nUsage: coco receipt verify/],
  ];
  for (const [args, message] of cases) {
    const result = runCoco(args);
    assert.equal(result.status, 2, `coco ${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', `coco ${args.join(' ')}`);
    assert.match(result.stderr, message);
  }
});

test('an argument a command does not take is a usage error, with the command\'s usage, before anything is done', () => {
  const cases: [string[], RegExp][] = [
    [['gov', 'propose', 'proposal.json', 'extra'], /^coco: unexpected argument "extra"\n\nUsage: coco gov propose /],
    [['gov', 'vote', 'ID', 'extra', '--accept'], /^coco: unexpected argument "extra"\n\nUsage: coco gov vote /],
    [['gov', 'withdraw', 'ID', 'extra'], /^coco: unexpected argument "extra"\n\nUsage: coco gov withdraw /],
    [['gov', 'ack', 'extra'], /^coco: unexpected argument "extra"\n\nUsage: coco gov ack /],
    [['gov', 'status', 'ID', 'extra'], /^coco: unexpected argument "extra"\n\nUsage: coco gov status /],
    [['app', 'deploy', 'bundle.json', 'extra'], /^coco: unexpected argument "extra"\n\nUsage: coco app deploy /],
    [['keygen', '--name', 'm', 'extra'], /^coco keygen: unexpected argument "extra"\n\nUsage: coco keygen /],
    // Found before connecting too, as usage errors (QA: exit 1 once the service refused them).
    [['gov', 'vote', 'abc', '--accept'], /^coco: "abc" is not a proposal ID: one is 64 lowercase hex digits/],
    [['gov', 'withdraw', 'A'.repeat(64)], /^coco: "A{64}" is not a proposal ID/],
    [['gov', 'status', 'xyz'], /^coco: "xyz" is not a proposal ID/],
    [['gov', 'status', '--url', '127.0.0.1:9300'], /^coco: --url: "127\.0\.0\.1:9300" is not a URL; expected e\.g\. https:\/\/127\.0\.0\.1:8000/],
    [['gov', 'status', '--url', 'http://127.0.0.1:9300'], /^coco: --url: the service URL must use https:/],
  ];
  for (const [args, message] of cases) {
    // A gov or app command that went on would look for no sandbox of the machine's.
    const result = runCoco(args[0] === 'keygen' ? args : [...args, '--workspace', '/nonexistent/workspace']);
    assert.equal(result.status, 2, `coco ${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', `coco ${args.join(' ')}`);
    assert.match(result.stderr, message);
  }
});

test('an unknown option or a missing value is one line that names it and the help to see, exit 2', () => {
  const cases: [string[], string][] = [
    [['sandbox', '--bogus'], 'coco: unknown option --bogus; see coco sandbox --help'],
    [['gov', 'propose', 'proposal.json', '--bogus'], 'coco: unknown option --bogus; see coco gov propose --help'],
    [['gov', 'vote', 'ID', '--ballot'], 'coco: --ballot needs a value; see coco gov vote --help'],
    [['ledger', 'verify', 'dir', '--bogus'], 'coco: unknown option --bogus; see coco ledger verify --help'],
    [['keygen', '--bogus'], 'coco keygen: unknown option --bogus; see coco keygen --help'],
    // Another gov command's option: refused, not ignored (QA: propose --accept proposed and voted nothing).
    [['gov', 'propose', 'proposal.json', '--accept'], 'coco: --accept does not apply to gov propose'],
    [['gov', 'ack', '--enc-key', 'key.pem'], 'coco: --enc-key does not apply to gov ack'],
    [['gov', 'share', '--ballot', 'b.js'], 'coco: --ballot does not apply to gov share'],
  ];
  for (const [args, line] of cases) {
    const result = runCoco(args);
    assert.equal(result.status, 2, `coco ${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.split('\n')[0], line);
  }
});

test('an empty --workspace is a usage error in one line, exit 2: the sandbox does not fill the current directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-cli-usage-'));
  try {
    const result = runCoco(['sandbox', '--workspace', '', '--nodes', '1', '--port', String(await testPortPair())], { cwd: dir });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr, 'coco: --workspace takes a directory, not an empty string (the default is ./workspace)\n');
    assert.deepEqual(readdirSync(dir), [], 'nothing written where it ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ledger command given a chunk file for its directory is a usage error that names the directory (QA: exit 1)', () => {
  const chunk = join(ccfLedgersDir, 'genesis-14', 'ledger_1-14.committed');
  for (const command of ['verify', 'show']) {
    const result = runCoco(['ledger', command, chunk]);
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stderr.split('\n')[0], `coco: ${chunk} is a file: pass the ledger directory that holds it (${join(ccfLedgersDir, 'genesis-14')})`);
  }
});

test('a constitution file that cannot be read stops the sandbox before it makes identities or starts a node (QA)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-cli-usage-'));
  try {
    const workspace = join(dir, 'ws');
    const result = runCoco(['sandbox', '--workspace', workspace, '--nodes', '1', '--port', String(await testPortPair()), '--constitution', join(dir, 'missing.js')]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /cannot read constitution file \(--constitution\) .*missing\.js: no such file \[FileUnreadable\]/);
    assert.deepEqual(readdirSync(join(workspace, 'sandbox_common')), [], 'no identity was made');
    assert.equal(existsSync(join(workspace, 'sandbox_0')), false, 'no node was started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('text that is not JSON is named in one line, the text near the error quoted with its line breaks escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-cli-usage-'));
  try {
    const file = join(dir, 'not.json');
    writeFileSync(file, 'not json\n');
    const cases: [string[], string][] = [
      [['app', 'deploy', file, '--workspace', join(dir, 'workspace')], `coco: cannot read bundle ${file}: Unexpected token 'o', "not json\\n" is not valid JSON [InvalidBundle]\n`],
      [['node', '--config', file], `coco: configuration ${file} is not valid JSON: Unexpected token 'o', "not json\\n" is not valid JSON [InvalidConfig]\n`],
    ];
    for (const [args, line] of cases) {
      const result = runCoco(args);
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stderr.replace(LOG_LINE_PREFIX, ''), line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the top-level usage leaves the sandbox options to coco sandbox --help, which lists them all', () => {
  const usage = runCoco(['--help']).stdout;
  assert.match(usage, /^ {2}sandbox \[options\]$/m);
  assert.match(usage, /coco sandbox --help/);
  assert.doesNotMatch(usage, /sandbox \[--/, 'no partial list of the options');
  const sandboxUsage = runCoco(['sandbox', '--help']).stdout;
  for (const option of ['--nodes', '--port', '--workspace', '--members', '--users', '--app', '--constitution', '--snapshot-tx-interval', '--max-http-body-size']) {
    assert.match(sandboxUsage, new RegExp(`^ +${option} `, 'm'), option);
  }
});

test('an app whose endpoint lacks a field or whose module does not compile is refused before anything is proposed or created, naming the field, or the module and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-cli-usage-'));
  try {
    const app = join(dir, 'app');
    mkdirSync(join(app, 'src'), { recursive: true });
    const endpoint = { js_module: 'counter.js', js_function: 'count', mode: 'readonly', authn_policies: ['user_cert'] };
    writeFileSync(join(app, 'app.json'), JSON.stringify({ endpoints: { '/count': { get: endpoint } } }));
    writeFileSync(join(app, 'src', 'counter.js'), 'export function count() {\n  return { body: [1, 2 };\n}\n');
    // An endpoint without a field set_js_app requires is refused first, naming it.
    const incomplete = runCoco(['app', 'deploy', app, '--workspace', join(dir, 'workspace')]);
    assert.equal(incomplete.status, 1, incomplete.stderr);
    assert.match(incomplete.stderr, /endpoints\["\/count"\]\["get"\]\.forwarding_required must be one of "sometimes", "always", "never", got undefined; nothing was proposed \[InvalidBundle\]$/m);
    writeFileSync(join(app, 'app.json'), JSON.stringify({ endpoints: { '/count': { get: { ...endpoint, forwarding_required: 'sometimes' } } } }));
    const workspace = join(dir, 'workspace');
    const compileError = /^coco: .*app: Failed to refresh bytecode: module "\/counter\.js" does not compile: SyntaxError: .* at counter\.js:2.*; nothing was proposed \[InvalidBundle\]$/m;
    // No sandbox runs there: the refusal comes before any connection.
    const deploy = runCoco(['app', 'deploy', app, '--workspace', workspace]);
    assert.equal(deploy.status, 1, deploy.stderr);
    assert.match(deploy.stderr, compileError);
    const sandbox = runCoco(['sandbox', '--nodes', '1', '--port', '9990', '--workspace', workspace, '--app', app]);
    assert.equal(sandbox.status, 1, sandbox.stderr);
    assert.match(sandbox.stderr, compileError);
    assert.equal(existsSync(join(workspace, 'sandbox_common', 'member0_cert.pem')), false, 'no identities created');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

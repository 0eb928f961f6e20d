// The ERC-20 sample as the README tells a new user to run it: a 3-node sandbox, then `npm run erc20`
// as a real process. Its output must name the deployed token, the balances after the transfers and
// the Transfer events, and the chain must agree with what it printed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { repoRoot } from '../support/paths.js';
import { startSandbox } from '../support/sandbox-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('npm run erc20 on a 3-node sandbox deploys the token, transfers both ways, prints the balances and lists the Transfer events', async (t) => {
  const sandbox = await startSandbox();
  t.after(() => sandbox.stop());
  const result = await run('npm', ['run', '--silent', 'erc20', '--', '--workspace', sandbox.workspace], repoRoot);
  assert.equal(result.code, 0, `the sample failed:\n${result.stdout}\n${result.stderr}`);
  const out = result.stdout;

  const [a, b] = (JSON.parse(sandbox.pem('ethereum_accounts.json')) as { address: string }[]).map((account) => account.address);
  assert.match(out, new RegExp(`^ERC-20 sample on Coco: ${sandbox.url}/app/ethereum \\(chain id 4242\\)$`, 'm'));
  const address = /^ {2}deployed at (0x[0-9a-fA-F]{40})$/m.exec(out)?.[1];
  assert.ok(address !== undefined, `no deployed address in:\n${out}`);
  // Deploy and two transfers, each Committed with its Coco TxID.
  assert.equal(out.match(/^ {2}transaction 0x[0-9a-f]{64}, block \d+, Coco transaction \d+\.\d+$/gm)?.length, 3, out);

  const balances = out.slice(out.indexOf('Balances'), out.indexOf('Transfer events'));
  assert.match(balances, new RegExp(`^ {2}account 0 {2}${a} {2}999800\\.0 CST$`, 'm'));
  assert.match(balances, new RegExp(`^ {2}account 1 {2}${b} {2}200\\.0 CST$`, 'm'));

  const events = out
    .slice(out.indexOf(`Transfer events of ${address} (eth_getLogs):`))
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.replace(/^ {2}block \d+ {2}/, ''));
  assert.deepEqual(events, [`${ethers.ZeroAddress} -> ${a}  1000000.0 CST`, `${a} -> ${b}  250.0 CST`, `${b} -> ${a}  50.0 CST`]);

  // The chain holds what the sample printed.
  const agent = new Agent({ ca: sandbox.pem('service_cert.pem'), cert: sandbox.pem('user0_cert.pem'), key: sandbox.pem('user0_privk.pem') });
  const request = new ethers.FetchRequest(`${sandbox.url}/app/ethereum`);
  request.getUrlFunc = ethers.FetchRequest.createGetUrlFunc({ agent });
  const provider = new ethers.JsonRpcProvider(request, undefined, { staticNetwork: true, cacheTimeout: -1 });
  t.after(() => {
    provider.destroy();
    agent.destroy();
  });
  const token = new ethers.Contract(address, ['function balanceOf(address) view returns (uint256)', 'function symbol() view returns (string)'], provider);
  assert.equal(await token.getFunction('symbol')(), 'CST');
  assert.equal(await token.getFunction('balanceOf')(b!), ethers.parseUnits('200', 18));
});

test('the sample run without a sandbox says which file it misses and to start the sandbox first', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'coco-erc20-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const result = await run(process.execPath, [join(repoRoot, 'dist', 'samples', 'erc20', 'erc20.js')], empty);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, `erc20: cannot read the service URL at ${join(empty, 'workspace', 'sandbox_common', 'service_url')}: start the sandbox with \`npm start\` first, or pass --workspace DIR\n`);
});

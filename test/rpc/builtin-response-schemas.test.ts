// The answers `/{node,app,gov}/api` describe are the answers a live service gives: on a sandbox of
// two node processes, opened through governance, every built-in GET whose document names a 200
// JSON schema is called on the primary and on the backup (with its required query parameters) and
// its answer checked against that schema, closed: a field the answer has and the schema does not
// list fails too.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ethers } from 'ethers';
import { CocoClient } from '../../src/client/coco-client.js';
import { waitForCommit } from '../../src/client/transactions.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { schemaErrors } from '../support/openapi-schema-check.js';

type Schema = Record<string, unknown>;
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const FRONTENDS = ['node', 'app', 'gov'];
/** Operations with a JSON answer that this service cannot give: it recovered no previous service (404). */
const NOT_CALLABLE = ['/node/service/previous_identity'];

let sandbox: SandboxProcess;
let anonymous: CocoClient;
let user: CocoClient;
/** Anonymous and user clients of the backup, node 1. */
let backup: { anonymous: CocoClient; user: CocoClient };
let committed: string;
let ethereumHash: string;
let selfId: string;
let memberId: string;
let userId: string;

before(async () => {
  sandbox = await startSandbox(['--nodes', '2']);
  const ca = sandbox.pem('service_cert.pem');
  anonymous = new CocoClient({ url: sandbox.url, caCertPem: ca });
  const userOf = (url: string) => new CocoClient({ url, caCertPem: ca, certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  user = userOf(sandbox.url);
  backup = { anonymous: new CocoClient({ url: sandbox.nodeUrl(1), caCertPem: ca }), user: userOf(sandbox.nodeUrl(1)) };
  // An application transaction, committed, for /tx, /local_tx and /receipt.
  const write = await user.request('POST', '/app/log/private', { body: { id: 1, msg: 'schema check' } });
  await waitForCommit(user, write.txId!, { timeoutMs: 30_000 });
  committed = formatTxId(write.txId!);
  // An Ethereum transfer, for /app/ethereum/receipt: answered once committed.
  const [account] = JSON.parse(readFileSync(sandbox.file('ethereum_accounts.json'), 'utf8')) as { private_key: string }[];
  const rpc = async (method: string, params: unknown[]) => (await user.request('POST', '/app/ethereum', { body: { jsonrpc: '2.0', id: 1, method, params } })).json<{ result: string }>().result;
  const signed = await new ethers.Wallet(account!.private_key).signTransaction({ to: ethers.ZeroAddress, value: 1n, nonce: 0, gasLimit: 21_000n, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n, chainId: BigInt(await rpc('eth_chainId', [])), type: 2 });
  ethereumHash = await rpc('eth_sendRawTransaction', [signed]);
  selfId = (await anonymous.request('GET', '/node/network/nodes/self')).json<{ node_id: string }>().node_id;
  memberId = certificateId(sandbox.pem('member0_cert.pem'));
  userId = certificateId(sandbox.pem('user0_cert.pem'));
}, { timeout: 180_000 });

after(async () => {
  for (const client of [anonymous, user, backup?.anonymous, backup?.user]) client?.close();
  await sandbox?.stop();
});

/** The request for a built-in GET: its path parameters filled, its query parameters given. */
function requestPath(frontend: string, path: string): string {
  const query: Record<string, string> = {
    '/commit': '?view_history=true',
    '/tx': `?transaction_id=${committed}`,
    '/local_tx': `?transaction_id=${committed}`,
    '/receipt': `?transaction_id=${committed}`,
    '/ethereum/receipt': `?hash=${ethereumHash}`,
  };
  // The governance reads: every one takes an api-version; members, users and nodes by ID.
  if (frontend === 'gov' && path.startsWith('/service/')) query[path] = '?api-version=2024-07-01';
  const filled = path.replace(/\{node_?[iI]d\}/, selfId).replace('{memberId}', memberId).replace('{userId}', userId).replace('{moduleName}', 'log.js');
  return `/${frontend}${filled}${query[path] ?? ''}`;
}

const apiOf = async (frontend: string) => (await anonymous.request('GET', `/${frontend}/api`)).json<Document>();

test("every built-in GET answers what its frontend's OpenAPI document says, field for field, on the primary and on a backup", { timeout: 120_000 }, async () => {
  const checked = new Set<string>();
  const notCalled = new Set<string>();
  for (const node of [{ anonymous, user }, backup]) {
    assert.equal((await node.anonymous.request('GET', '/node/network/nodes/self')).json<{ primary: boolean }>().primary, node !== backup);
    for (const frontend of FRONTENDS) {
      const api = await apiOf(frontend);
      for (const [path, operations] of Object.entries(api.paths)) {
        const schema = operations.get?.responses['200']?.content?.['application/json']?.schema;
        if (schema === undefined) continue;
        if (NOT_CALLABLE.includes(`/${frontend}${path}`)) {
          notCalled.add(`/${frontend}${path}`);
          continue;
        }
        // The app's endpoints take the user's certificate; the built-in ones anyone's call.
        const request = requestPath(frontend, path);
        const answer = await (frontend === 'app' ? node.user : node.anonymous).request('GET', request);
        assert.equal(answer.status, 200, `GET ${request}`);
        assert.match(String(answer.headers['content-type']), /^application\/json/, `GET ${request}`);
        assert.deepEqual(schemaErrors(answer.json(), schema, { schemas: api.components.schemas, closed: true }), [], `GET ${request}${node === backup ? ' on the backup' : ''}`);
        checked.add(`/${frontend}${path}`);
      }
    }
  }
  assert.deepEqual([...notCalled], NOT_CALLABLE);
  // The common endpoints under each frontend, and the node frontend's own.
  for (const path of ['/node/commit', '/app/receipt', '/app/ethereum/receipt', '/gov/api/metrics', '/node/network/nodes/{node_id}', '/node/consensus', '/node/metrics', '/node/quotes', '/gov/service/info', '/gov/service/members/{memberId}', '/gov/service/nodes', '/gov/service/jwk', '/gov/service/join-policy', '/gov/service/javascript-app']) {
    assert.ok(checked.has(path), `${path} was checked`);
  }
});

test("a signature transaction's receipt, whose leaf is the signed root, fits the Receipt schema too", { timeout: 30_000 }, async () => {
  const api = await apiOf('node');
  const schema = api.paths['/receipt']!.get!.responses['200']!.content!['application/json']!.schema;
  // Commit advances at signatures: the commit TxID is a signature transaction's, and committed.
  const { transaction_id } = (await anonymous.request('GET', '/node/commit')).json<{ transaction_id: string }>();
  const receipt = (await anonymous.request('GET', `/node/receipt?transaction_id=${transaction_id}`)).json<Record<string, unknown>>();
  assert.equal(typeof receipt.leaf, 'string', 'a signature receipt');
  assert.deepEqual(schemaErrors(receipt, schema, { schemas: api.components.schemas, closed: true }), []);
});

test('the check refuses an answer that is missing a required field, has a field of the wrong type, or one its schema does not list', { timeout: 30_000 }, async () => {
  const api = await apiOf('node');
  const schema = api.paths['/network']!.get!.responses['200']!.content!['application/json']!.schema;
  const options = { schemas: api.components.schemas, closed: true };
  const network = (await anonymous.request('GET', '/node/network')).json<Record<string, unknown>>();
  assert.deepEqual(schemaErrors(network, schema, options), []);
  const { service_status: _, ...missing } = network;
  assert.deepEqual(schemaErrors(missing, schema, options), ['$: required field service_status is missing']);
  assert.deepEqual(schemaErrors({ ...network, current_view: String(network.current_view) }, schema, options), ['$.current_view: is string, the schema says integer']);
  assert.deepEqual(schemaErrors({ ...network, service_status: 'Paused' }, schema, options), ['$.service_status: "Paused" is not one of ["Opening","Open","WaitingForRecoveryShares","Recovering"]']);
  assert.deepEqual(schemaErrors({ ...network, primary_id: 'node-0' }, schema, options), ['$.primary_id: "node-0" does not match ^[a-f0-9]{64}$']);
  assert.deepEqual(schemaErrors({ ...network, extra: 1 }, schema, options), ['$: field extra is not in the schema']);
  const nodes = api.paths['/network/nodes']!.get!.responses['200']!.content!['application/json']!.schema;
  const listed = (await anonymous.request('GET', '/node/network/nodes')).json<{ nodes: Record<string, unknown>[] }>();
  assert.deepEqual(schemaErrors({ nodes: [{ ...listed.nodes[0], last_written: -1 }] }, nodes, options), ['$.nodes[0].last_written: -1 is below 0']);
});

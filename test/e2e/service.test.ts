// A user's and a member's view of a running service: the sandbox opened through governance, the
// logging app written to and read from with client certificates, commit, receipts, historical
// reads, governance from the CLI, and bad input on every interface.

import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign as nodeSign, X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { signGovernanceRequest } from '../../src/client/cose-signing.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { getReceipt, waitForCommit } from '../../src/client/transactions.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { runCoco } from '../support/run-cli.js';
import { repoRoot } from '../support/paths.js';
import { startSandbox, type SandboxProcess } from '../support/sandbox-process.js';
import { until } from '../support/until.js';
import { createService, reply, startServer } from '../client/tls-fixture.js';
import { ecdsaSignatureTwin } from '../../src/crypto/ecdsa-twin.js';

let sandbox: SandboxProcess;
let user: CocoClient;
let anonymous: CocoClient;
let member: GovernanceClient;
let memberClient: CocoClient;
const scratch = mkdtempSync(join(tmpdir(), 'coco-service-test-'));

before(async () => {
  // Issuers set with auto_refresh have their keys fetched every second here (CCF's default: 30 min).
  sandbox = await startSandbox(['--jwt-key-refresh-interval-s', '1']);
  assert.match(sandbox.output(), /curl -L https:\/\/\S+\/app\/log\/private --cacert /, 'the logging sample: its commands in the banner');
  const ca = sandbox.pem('service_cert.pem');
  user = new CocoClient({ url: sandbox.url, caCertPem: ca, certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  anonymous = new CocoClient({ url: sandbox.url, caCertPem: ca });
  memberClient = new CocoClient({ url: sandbox.url, caCertPem: ca, certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') });
  member = new GovernanceClient(anonymous, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
});

after(async () => {
  for (const client of [user, anonymous, memberClient]) client?.close();
  await sandbox?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const gov = (args: string[]) => runCoco(['gov', ...args, '--workspace', sandbox.workspace]);

test('the sandbox opened the service through governance: member active, user and app installed', async () => {
  const info = await member.getServiceInfo();
  assert.equal(info.status, 'Open');
  const members = await member.listMembers();
  assert.equal(members[0]!.status, 'Active');
  assert.equal((await member.listUsers()).length, 1);
  const proposals = await member.listProposals();
  assert.ok(proposals.every((p) => p.proposalState === 'Accepted'));
  // A development network may run for days: its certificates last a year, not CCF's one day.
  const yearAhead = Date.now() + 360 * 86_400_000;
  assert.ok(Date.parse(new X509Certificate(sandbox.pem('service_cert.pem')).validTo) > yearAhead, 'the service certificate');
  const served = await servedValidTo(sandbox.url, sandbox.pem('service_cert.pem'));
  assert.ok(Date.parse(served) > yearAhead, `the node certificate it serves (valid to ${served})`);
});

/** The validity end of the certificate a node serves to a new client connection. */
function servedValidTo(url: string, caPem: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: caPem, checkServerIdentity: () => undefined }, () => {
      resolve(socket.getPeerX509Certificate()!.validTo);
      socket.end();
    }).on('error', reject);
  });
}

test('a node certificate members renew (set_all_nodes_certificate_validity) is what the node serves once committed', async () => {
  const ca = sandbox.pem('service_cert.pem');
  const before = await servedValidTo(sandbox.url, ca);
  const days = 90;
  const proposal = await member.createProposal({ actions: [{ name: 'set_all_nodes_certificate_validity', args: { valid_from: new Date().toISOString(), validity_period_days: days } }] });
  assert.equal((await member.submitBallot(proposal.proposalId, 'export function vote() { return true; }')).proposalState, 'Accepted');
  const renewed = await until('the node to serve its renewed certificate', 30_000, async () => {
    const validTo = await servedValidTo(sandbox.url, ca);
    return validTo === before ? undefined : validTo;
  });
  assert.ok(Math.abs(Date.parse(renewed) - (Date.now() + days * 86_400_000)) < 2 * 86_400_000, `valid to ${renewed}, about ${days} days from now`);
  // What governance lists is what the node serves.
  const listed = (await member.listNodes())[0]!.certificate;
  assert.equal(new X509Certificate(listed).validTo, renewed);
});

test('the installed app, its modules and per-endpoint metrics are visible as in CCF', async () => {
  const app = (await anonymous.request('GET', '/gov/service/javascript-app?api-version=2024-07-01')).json<{ endpoints: Record<string, Record<string, { jsModule: string; mode: string; authnPolicies: unknown[] }>> }>();
  assert.equal(app.endpoints['/log/private']!.POST!.mode, 'readwrite');
  assert.deepEqual(app.endpoints['/log/private']!.POST!.authnPolicies, ['user_cert']);
  const modules = (await anonymous.request('GET', '/gov/service/javascript-modules?api-version=2024-07-01')).json<{ value: { moduleName: string }[] }>();
  const name = modules.value[0]!.moduleName;
  const source = await anonymous.request('GET', `/gov/service/javascript-modules/${encodeURIComponent(name)}?api-version=2024-07-01`);
  assert.equal(source.headers['content-type'], 'text/javascript');
  assert.ok(source.text().length > 100);
  // These routes came with 2024-07-01 and take no other case than the original one, as in CCF.
  const refusal = async (path: string) => {
    const response = await anonymous.request('GET', path, { allowError: true });
    return [response.status, response.json<{ error: { code: string } }>().error.code];
  };
  assert.deepEqual(await refusal('/gov/service/javascript-app?api-version=2024-07-01&case=camel'), [400, 'InvalidQueryParameterValue']);
  assert.deepEqual(await refusal('/gov/service/javascript-app?api-version=2023-06-01-preview'), [400, 'UnsupportedApiVersionValue']);
  assert.deepEqual(await refusal('/gov/service/javascript-modules?api-version=2023-06-01-preview'), [400, 'UnsupportedApiVersionValue']);
  const original = (await anonymous.request('GET', '/gov/service/javascript-app?api-version=2024-07-01&case=original')).json<{ endpoints: Record<string, Record<string, { js_module: string }>> }>();
  assert.equal(original.endpoints['/log/private']!.POST!.js_module, app.endpoints['/log/private']!.POST!.jsModule);
  const { transactionId } = (await anonymous.request('GET', '/gov/service/transactions/commit?api-version=2024-07-01')).json<{ transactionId: string }>();
  assert.deepEqual((await anonymous.request('GET', `/gov/service/transactions/${transactionId}?api-version=2024-07-01`)).json(), { status: 'Committed', transactionId });
  await user.request('GET', '/app/log/private?id=12345', { allowError: true });
  // As CCF since 3.0, the app's endpoints answer without /app too, and count as the same endpoint.
  await user.request('POST', '/log/private', { body: { id: 12346, msg: 'unprefixed' } });
  assert.deepEqual((await user.request('GET', '/app/log/private?id=12346')).json(), { msg: 'unprefixed' });
  // Requests for no endpoint count nowhere (as CCF): a scan of paths would fill the table.
  for (const path of ['/app/nope/1', '/app/nope/2', '/node/nope']) assert.equal((await user.request('GET', path, { allowError: true })).status, 404);
  const metrics = (await anonymous.request('GET', '/app/api/metrics')).json<{ metrics: { path: string; method: string; calls: number; errors: number }[] }>();
  // CCF's names: under the frontend, without a leading slash.
  const entry = metrics.metrics.find((m) => m.path === 'log/private' && m.method === 'GET');
  assert.ok(entry && entry.calls >= 2 && entry.errors >= 1, JSON.stringify(metrics));
  assert.ok(metrics.metrics.some((m) => m.path === 'log/private' && m.method === 'POST'), JSON.stringify(metrics));
  assert.deepEqual(metrics.metrics.filter((m) => m.path.includes('nope')), []);
  const govMetrics = (await anonymous.request('GET', '/gov/api/metrics')).json<{ metrics: { path: string }[] }>().metrics;
  assert.ok(govMetrics.some((m) => m.path === 'service/javascript-modules/{moduleName}'), 'by path template');
  // /app/api lists the app's endpoints beside the built-in ones, paths relative to /app as in CCF.
  const api = (await anonymous.request('GET', '/app/api')).json<{ servers: { url: string }[]; paths: Record<string, Record<string, { responses: unknown }>> }>();
  assert.deepEqual(api.servers, [{ url: '/app' }]);
  assert.deepEqual(Object.keys(api.paths['/log/private']!).sort(), ['delete', 'get', 'post']);
  assert.ok(api.paths['/log/private']!.post!.responses, 'an operation has responses');
  assert.ok(api.paths['/commit']?.get, 'built-in endpoints too');
  assert.equal((await anonymous.request('GET', '/gov/api')).json<{ paths: Record<string, unknown> }>().paths['/log/private'], undefined, 'the app is under /app only');
});

test('a user writes private and public log entries, reads them back, and they commit', async () => {
  const write = await user.request('POST', '/app/log/private', { body: { id: 1, msg: 'private hello' } });
  assert.equal(write.status, 200);
  assert.ok(write.txId);
  await user.request('POST', '/app/log/public', { body: { id: 1, msg: 'public hello' } });
  assert.deepEqual((await user.request('GET', '/app/log/private?id=1')).json(), { msg: 'private hello' });
  assert.deepEqual((await user.request('GET', '/app/log/public?id=1')).json(), { msg: 'public hello' });
  await waitForCommit(user, write.txId!, { timeoutMs: 10_000 });
  const status = (await anonymous.request('GET', `/app/tx?transaction_id=${formatTxId(write.txId!)}`)).json<{ status: string }>();
  assert.equal(status.status, 'Committed');
  const missing = await user.request('GET', '/app/log/private?id=999', { allowError: true });
  assert.equal(missing.status, 404);
});

test('a receipt for the write verifies offline, with the CLI too, and fails when one byte changes', async () => {
  const write = await user.request('POST', '/app/log/private', { body: { id: 2, msg: 'receipted' } });
  await waitForCommit(user, write.txId!, { timeoutMs: 10_000 });
  const receipt = await getReceipt(user, write.txId!, { timeoutMs: 10_000 });
  const file = join(scratch, 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  const ok = runCoco(['receipt', 'verify', file, '--service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`for transaction ${formatTxId(write.txId!).replace('.', '\\.')}`));
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('"write_set_digest":"') + 25;
  writeFileSync(file, text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1));
  const bad = runCoco(['receipt', 'verify', file, '--service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ReceiptInvalid/);

  const cose = await user.request('GET', `/app/receipt?transaction_id=${formatTxId(write.txId!)}`, { headers: { accept: 'application/cose' } });
  assert.equal(cose.headers['content-type'], 'application/cose');
  const coseFile = join(scratch, 'receipt.cose');
  writeFileSync(coseFile, cose.body);
  const coseOk = runCoco(['receipt', 'verify', coseFile, '--service-cert', sandbox.file('service_cert.pem')]);
  assert.equal(coseOk.status, 0, coseOk.stderr);
  assert.match(coseOk.stdout, new RegExp(`for transaction ${formatTxId(write.txId!).replace('.', '\\.')}`));
  // The SDK verifies it too, as applications do.
  const sdk = await import('../../src/client/index.js');
  assert.equal(sdk.verifyCoseReceipt(cose.body, sandbox.pem('service_cert.pem')).txId, formatTxId(write.txId!));
  const altered = Buffer.from(cose.body);
  altered[altered.length - 10]! ^= 1;
  assert.throws(() => sdk.verifyCoseReceipt(altered, sandbox.pem('service_cert.pem')), /ReceiptInvalid|ReceiptMalformed|signature/);
  writeFileSync(coseFile, altered);
  assert.equal(runCoco(['receipt', 'verify', coseFile, '--service-cert', sandbox.file('service_cert.pem')]).status, 1);
});

test('a historical read answers 202 with Retry-After, then the value read back from the ledger', async () => {
  const write = await user.request('POST', '/app/log/private', { body: { id: 3, msg: 'from the past' } });
  await waitForCommit(user, write.txId!, { timeoutMs: 10_000 });
  await user.request('POST', '/app/log/private', { body: { id: 3, msg: 'overwritten' } });
  const headers = { 'x-ms-ccf-transaction-id': formatTxId(write.txId!) };
  const first = await user.request('GET', '/app/log/private/historical?id=3', { headers, allowError: true });
  assert.equal(first.status, 202);
  assert.equal(first.headers['retry-after'], '3');
  assert.equal(first.text(), `Historical transaction ${formatTxId(write.txId!)} is not currently available.`);
  let response = first;
  for (let i = 0; i < 50 && response.status === 202; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    response = await user.request('GET', '/app/log/private/historical?id=3', { headers, allowError: true });
  }
  assert.equal(response.status, 200, response.text());
  assert.deepEqual(response.json(), { msg: 'from the past' });
  for (const value of ['garbage', '2.', '2.18446744073709551616']) {
    const garbled = await user.request('GET', '/app/log/private/historical?id=3', { headers: { 'x-ms-ccf-transaction-id': value }, allowError: true });
    assert.equal(garbled.status, 400, value);
    assert.equal(garbled.json<{ error: { code: string } }>().error.code, 'InvalidHeaderValue', value);
  }
  // Two numbers read as a TxID, as in CCF; no transaction has seqno or view 0.
  for (const value of ['2.0', '0.5']) {
    const none = await user.request('GET', '/app/log/private/historical?id=3', { headers: { 'x-ms-ccf-transaction-id': value }, allowError: true });
    assert.equal(none.status, 404, value);
    assert.equal(none.json<{ error: { code: string } }>().error.code, 'TransactionInvalid', value);
  }
});

test("a record's writes in a range of committed seqnos are read back with ccf.historical.getStateRange, as CCF's logging sample answers: 202 until the node has them", async () => {
  const writes = [];
  for (const [id, msg] of [[20, 'first'], [21, 'second'], [20, 'third']] as const) writes.push((await user.request('POST', '/app/log/private', { body: { id, msg } })).txId!);
  await waitForCommit(user, writes.at(-1)!, { timeoutMs: 10_000 });
  const readRange = async (path: string) => {
    const first = await user.request('GET', path, { allowError: true });
    assert.equal(first.status, 202, first.text());
    assert.equal(first.headers['retry-after'], '1');
    return until('the range to be read back', 10_000, async () => {
      const response = await user.request('GET', path, { allowError: true });
      return response.status === 200 ? response.json<{ entries: unknown[] }>() : undefined;
    });
  };
  const range = `from_seqno=${writes[0]!.seqno}&to_seqno=${writes.at(-1)!.seqno}`;
  assert.deepEqual(await readRange(`/app/log/private/historical/range?id=20&${range}`), {
    entries: [
      { seqno: writes[0]!.seqno, id: 20, msg: 'first' },
      { seqno: writes[2]!.seqno, id: 20, msg: 'third' },
    ],
  });
  // Without bounds: from seqno 1 to the record's last write.
  assert.deepEqual(await readRange('/app/log/private/historical/range?id=21'), { entries: [{ seqno: writes[1]!.seqno, id: 21, msg: 'second' }] });
  const beyond = await user.request('GET', `/app/log/private/historical/range?id=20&from_seqno=${writes.at(-1)!.seqno}&to_seqno=${writes.at(-1)!.seqno + 500}`, { allowError: true });
  assert.equal(beyond.status, 404);
  assert.equal(beyond.json<{ error: { code: string } }>().error.code, 'TransactionPendingOrUnknown');
  assert.match(beyond.json<{ error: { message: string } }>().error.message, /^Only committed transactions can be queried\. Transaction at seqno \d+ is Unknown/);
});

test('a member adds a second user with coco gov propose and vote, and that user can write', async () => {
  const key = generateKeyPair('P-384');
  const cert = createSelfSignedCertificate({ subjectCn: 'user1', keyPair: key, validFrom: new Date(), validityDays: 1, isCa: false });
  const proposalFile = join(scratch, 'set_user.json');
  writeFileSync(proposalFile, JSON.stringify({ actions: [{ name: 'set_user', args: { cert } }] }));
  const proposed = gov(['propose', proposalFile]);
  assert.equal(proposed.status, 0, proposed.stderr);
  const proposal = JSON.parse(proposed.stdout);
  assert.equal(proposal.proposalState, 'Open');
  const voted = gov(['vote', proposal.proposalId, '--accept']);
  assert.equal(voted.status, 0, voted.stderr);
  assert.equal(JSON.parse(voted.stdout).proposalState, 'Accepted');
  assert.match(voted.stderr, /committed/);
  const user1 = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: cert, keyPem: key.privateKeyPem });
  try {
    assert.equal((await user1.request('POST', '/app/log/private', { body: { id: 10, msg: 'from user1' } })).status, 200);
  } finally {
    user1.close();
  }
  const status = gov(['status', proposal.proposalId]);
  assert.equal(JSON.parse(status.stdout).proposalState, 'Accepted');
});

/** Proposes `actions` as member0 with the CLI and votes for them; they must pass. */
function passProposal(name: string, actions: unknown[]): void {
  const proposalFile = join(scratch, `${name}.json`);
  writeFileSync(proposalFile, JSON.stringify({ actions }));
  const proposed = gov(['propose', proposalFile]);
  assert.equal(proposed.status, 0, proposed.stderr);
  const voted = gov(['vote', JSON.parse(proposed.stdout).proposalId, '--accept']);
  assert.equal(JSON.parse(voted.stdout).proposalState, 'Accepted', voted.stderr);
}

/** A P-256 signing key and its public JWK under `kid`. */
function jwtKey(kid: string) {
  const key = generateKeyPair('P-256');
  return { key, kid, jwk: { ...createPublicKey(key.publicKeyPem).export({ format: 'jwk' }), kid, alg: 'ES256' } };
}

/** A JWT signed by `signer` for `issuer`, valid for 10 minutes, and the text before its signature. */
function jwtFor(signer: ReturnType<typeof jwtKey>, issuer: string, subject: string): { token: string; signed: string } {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'ES256', kid: signer.kid, typ: 'JWT' })}.${part({ iss: issuer, sub: subject, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  const signature = nodeSign('sha256', Buffer.from(signed), { key: createPrivateKey(signer.key.privateKeyPem), dsaEncoding: 'ieee-p1363' });
  return { token: `${signed}.${signature.toString('base64url')}`, signed };
}

/** The status /app/jwt answers for a bearer token. */
async function jwtStatus(token: string): Promise<number> {
  return (await anonymous.request('GET', '/app/jwt', { headers: { authorization: `Bearer ${token}` }, allowError: true })).status;
}

test('a JWT issuer registered by governance lets bearer tokens call the jwt endpoint', async () => {
  const signer = jwtKey('e2e-key');
  passProposal('jwt', [{ name: 'set_jwt_issuer', args: { issuer: 'https://login.example', auto_refresh: false, jwks: { keys: [signer.jwk] } } }]);
  const { token, signed } = jwtFor(signer, 'https://login.example', 'carol');
  const claims = await anonymous.request('GET', '/app/jwt', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(claims.json<{ sub: string }>().sub, 'carol');
  const jwks = (await anonymous.request('GET', '/gov/service/jwk?api-version=2024-07-01')).json<{ issuers: Record<string, { autoRefresh: boolean }>; keys: Record<string, { issuer: string; publicKey: string }[]> }>();
  assert.deepEqual(jwks.issuers['https://login.example'], { autoRefresh: false });
  assert.equal(jwks.keys['e2e-key']![0]!.issuer, 'https://login.example');
  assert.match(jwks.keys['e2e-key']![0]!.publicKey, /BEGIN PUBLIC KEY/);
  const policy = (await anonymous.request('GET', '/gov/service/join-policy?api-version=2024-07-01')).json<{ virtual: { measurements: string[]; hostData: string[] } }>();
  assert.deepEqual(policy.virtual.measurements, ['Insecure hard-coded virtual measurement v1']);
  assert.equal(policy.virtual.hostData.length, 1);
  const forged = await anonymous.request('GET', '/app/jwt', { headers: { authorization: `Bearer ${signed}.${Buffer.alloc(64).toString('base64url')}` }, allowError: true });
  assert.equal(forged.status, 401);
  assert.match(String(forged.headers['www-authenticate']), /Bearer/);
});

test('an issuer set with auto_refresh has its keys fetched by the primary over HTTPS, rotations included; an issuer it cannot trust keeps its keys', async () => {
  const issuerTls = await createService();
  let served = jwtKey('rotating-a');
  const issuer = await startServer(issuerTls, (request, response) => {
    if (request.url.pathname === '/.well-known/openid-configuration') return reply(response, 200, { issuer: issuer.url, jwks_uri: `${issuer.url}/keys` });
    if (request.url.pathname === '/keys') return reply(response, 200, { keys: [served.jwk] });
    reply(response, 404);
  });
  try {
    const primary = (await anonymous.request('GET', '/node/network/nodes/primary')).json<{ rpc_interfaces: Record<string, { published_address: string }> }>();
    const primaryClient = new CocoClient({ url: `https://${Object.values(primary.rpc_interfaces)[0]!.published_address}`, caCertPem: sandbox.pem('service_cert.pem') });
    const metrics = async () => (await primaryClient.request('GET', '/node/jwt_keys/refresh/metrics')).json<{ attempts: number; successes: number; failures: number }>();
    try {
      passProposal('jwt-refresh', [
        { name: 'set_ca_cert_bundle', args: { name: 'issuer_ca', cert_bundle: issuerTls.certPem } },
        { name: 'set_jwt_issuer', args: { issuer: issuer.url, auto_refresh: true, ca_cert_bundle_name: 'issuer_ca' } },
      ]);
      const first = jwtFor(served, issuer.url, 'dave');
      await until('the first key to be fetched', 15_000, async () => ((await jwtStatus(first.token)) === 200 ? true : undefined));
      assert.ok(issuer.requests.some((r) => r.url.pathname === '/.well-known/openid-configuration'), 'the discovery document was read');
      const fetched = await metrics();
      assert.ok(fetched.successes >= 1 && fetched.attempts >= fetched.successes, JSON.stringify(fetched));

      // The issuer rotates its key: the new one is taken, the old one no longer accepted.
      served = jwtKey('rotating-b');
      const second = jwtFor(served, issuer.url, 'erin');
      await until('the rotated key to be fetched', 15_000, async () => ((await jwtStatus(second.token)) === 200 ? true : undefined));
      assert.equal(await jwtStatus(first.token), 401);

      // The bundle no longer vouches for the issuer's certificate: refreshes fail and the keys stay.
      const before = await metrics();
      passProposal('jwt-wrong-ca', [{ name: 'set_ca_cert_bundle', args: { name: 'issuer_ca', cert_bundle: (await createService()).certPem } }]);
      await until('a refresh to fail', 15_000, async () => ((await metrics()).failures > before.failures ? true : undefined));
      assert.equal(await jwtStatus(second.token), 200);
      passProposal('jwt-remove', [{ name: 'remove_jwt_issuer', args: { issuer: issuer.url } }]);
      await until('the removed issuer to be refused', 10_000, async () => ((await jwtStatus(second.token)) === 401 ? true : undefined));
    } finally {
      primaryClient.close();
    }
  } finally {
    await issuer.close();
  }
});

test('a trigger_snapshot proposal makes the primary snapshot at the next signature, well before snapshots.tx_count', async () => {
  // The sandbox snapshots every 10,000 transactions (CCF's default); this service has done far fewer.
  const before = await user.request('GET', '/node/snapshot', { allowError: true });
  assert.equal(before.status, 404, 'no snapshot yet');
  const status = (await anonymous.request('GET', '/node/state')).json<{ last_signed_seqno: number }>();
  passProposal('snapshot', [{ name: 'trigger_snapshot' }]);
  const name = await until('a committed snapshot', 15_000, async () => {
    const found = await user.request('GET', '/node/snapshot', { allowError: true });
    return found.status === 200 ? String(found.headers['x-ms-ccf-snapshot-name']) : undefined;
  });
  assert.ok(Number(/^snapshot_(\d+)_/.exec(name)![1]) > status.last_signed_seqno, name);
});

test('callers without the right certificate get 401 with CCF error bodies', async () => {
  const none = await anonymous.request('GET', '/app/log/private?id=1', { allowError: true });
  assert.equal(none.status, 401);
  assert.equal(none.json<{ error: { code: string } }>().error.code, 'InvalidAuthenticationInfo');
  const asMember = await memberClient.request('GET', '/app/log/private?id=1', { allowError: true });
  assert.equal(asMember.status, 401);
  // As CCF: each policy of the endpoint says why in the error's details.
  const [detail, ...more] = asMember.json<{ error: { details: { auth_policy: string; code: string; message: string }[] } }>().error.details;
  assert.deepEqual([detail?.auth_policy, detail?.code, more.length], ['user_cert', 'InvalidAuthenticationInfo', 0]);
  assert.equal(detail!.message, 'Could not find matching user certificate');
  const stranger = generateKeyPair('P-384');
  const strangerCert = createSelfSignedCertificate({ subjectCn: 'stranger', keyPair: stranger, validFrom: new Date(), validityDays: 1, isCa: false });
  const strangerClient = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: strangerCert, keyPem: stranger.privateKeyPem });
  try {
    assert.equal((await strangerClient.request('POST', '/app/log/private', { body: { id: 5, msg: 'x' }, allowError: true })).status, 401);
  } finally {
    strangerClient.close();
  }
  // A registered user whose certificate has expired is refused, as CCF's user_cert policy does.
  const expired = generateKeyPair('P-384');
  const expiredCert = createSelfSignedCertificate({ subjectCn: 'expired', keyPair: expired, validFrom: new Date(Date.now() - 3 * 86_400_000), validityDays: 1, isCa: false });
  passProposal('set_expired_user', [{ name: 'set_user', args: { cert: expiredCert } }]);
  const expiredClient = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: expiredCert, keyPem: expired.privateKeyPem });
  try {
    const refused = await expiredClient.request('GET', '/app/log/private?id=1', { allowError: true });
    assert.equal(refused.status, 401);
    assert.match(refused.json<{ error: { details: { message: string }[] } }>().error.details[0]!.message, /after certificate's Not After validity period/);
  } finally {
    expiredClient.close();
  }
  const badJson = await user.request('POST', '/app/log/private', { body: '{"id": 1,', contentType: 'application/json', allowError: true });
  assert.equal(badJson.status, 400);
});

test('governance refuses forged, replayed, stale and unversioned requests with CCF codes', async () => {
  const proposal = utf8(JSON.stringify({ actions: [{ name: 'trigger_ledger_chunk', args: {} }] }));
  const memberCert = sandbox.pem('member0_cert.pem');
  const post = (body: Uint8Array, query = '?api-version=2024-07-01') =>
    anonymous.request('POST', `/gov/members/proposals:create${query}`, { body, contentType: 'application/cose', allowError: true });
  const code = async (response: Promise<{ status: number; json: <T>() => T }>) => {
    const r = await response;
    return [r.status, r.json<{ error: { code: string } }>().error.code];
  };
  const now = Math.floor(Date.now() / 1000);
  const signed = signGovernanceRequest({ content: proposal, msgType: 'proposal', createdAt: now, signerCertPem: memberCert, signerKeyPem: sandbox.pem('member0_privk.pem') });
  assert.deepEqual(await code(post(signed, '')), [400, 'MissingApiVersionParameter']);
  assert.deepEqual(await code(post(signed, '?api-version=1999-01-01')), [400, 'UnsupportedApiVersionValue']);
  assert.equal(
    (await post(signed, '?api-version=1999-01-01')).json<{ error: { message: string } }>().error.message,
    "Unsupported api-version '1999-01-01'. The supported api-versions are: 2023-06-01-preview, 2024-07-01",
  );
  const first = await post(signed);
  assert.equal(first.status, 200, first.text());
  assert.deepEqual(await code(post(signed)), [400, 'ProposalReplay']);
  // The same request with its ECDSA signature's other valid form (r, n - s), which anyone can make
  // from the envelope the ledger shows: a replay too. The signature is the envelope's last 96 bytes.
  const malleated = new Uint8Array(signed);
  malleated.set(ecdsaSignatureTwin(signed.subarray(signed.length - 96))!, signed.length - 96);
  assert.deepEqual(await code(post(malleated)), [400, 'ProposalReplay']);
  const stale = signGovernanceRequest({ content: proposal, msgType: 'proposal', createdAt: 1000, signerCertPem: memberCert, signerKeyPem: sandbox.pem('member0_privk.pem') });
  assert.deepEqual(await code(post(stale)), [400, 'ProposalCreatedTooLongAgo']);
  // Signed by another key under member0's certificate: the kid names member0, the signature does not verify.
  const impostor = generateKeyPair('P-384');
  const forged = signGovernanceRequest({ content: proposal, msgType: 'proposal', createdAt: now + 1, signerCertPem: createSelfSignedCertificate({ subjectCn: 'x', keyPair: impostor, validFrom: new Date(), validityDays: 1, isCa: false }), signerKeyPem: impostor.privateKeyPem });
  const forgedResponse = await post(forged);
  assert.equal(forgedResponse.status, 401);
  assert.equal(forgedResponse.headers['www-authenticate'], 'COSE-SIGN1 realm="Signed request access"');
  const wrongType = signGovernanceRequest({ content: proposal, msgType: 'ballot', proposalId: 'a'.repeat(64), createdAt: now + 2, signerCertPem: memberCert, signerKeyPem: sandbox.pem('member0_privk.pem') });
  assert.deepEqual(await code(post(wrongType)), [401, 'InvalidAuthenticationInfo']);
  assert.deepEqual(await code(post(utf8('not cose'))), [401, 'InvalidAuthenticationInfo']);
  const invalid = signGovernanceRequest({ content: utf8('{"actions": [{"name": "no_such_action", "args": {}}]}'), msgType: 'proposal', createdAt: now + 3, signerCertPem: memberCert, signerKeyPem: sandbox.pem('member0_privk.pem') });
  assert.deepEqual(await code(post(invalid)), [400, 'ProposalFailedToValidate']);
});

test('an app handler that throws, loops forever or answers a header HTTP cannot carry gets a 500, and the node keeps serving with nothing lost', async () => {
  const before = (await user.request('GET', '/app/log/private?id=1')).json();
  const endpoint = (fn: string) => ({ js_module: 'bad.js', js_function: fn, authn_policies: ['user_cert'], mode: 'readwrite', forwarding_required: 'sometimes' });
  writeFileSync(join(scratch, 'bad-app.json'), JSON.stringify({
    metadata: { endpoints: { '/throw': { post: endpoint('throws') }, '/loop': { post: endpoint('loops') }, '/deep': { post: endpoint('deep') }, '/hog': { post: endpoint('hog') }, '/echo': { post: endpoint('echoes'), get: endpoint('reads') }, '/discard': { post: endpoint('discards') }, '/keep': { post: endpoint('keeps') }, '/missing': { post: endpoint('missing') }, '/nothing': { post: endpoint('nothing') }, '/empty': { post: endpoint('empty') }, '/hidden': { post: endpoint('hidden') } } },
    modules: [{ name: 'bad.js', module: [
      'export function throws() { ccf.kv["records"].set(ccf.strToBuf("k"), ccf.strToBuf("v")); throw new Error("boom"); }',
      'export function loops() { for (;;) {} }',
      'export function deep() { const f = (i) => f(i + 1) + 1; return f(0); }',
      'export function hog() { const parts = []; for (;;) parts.push("x".repeat(1 << 20) + parts.length); }',
      // Echoes the caller's text into a header: a CR LF there must not reach the wire nor stop the node.
      'export function echoes(request) { ccf.kv["records"].set(ccf.strToBuf("echo"), ccf.strToBuf(request.body.text())); return { headers: { "x-echo": request.body.text() } }; }',
      'export function reads() { return { body: ccf.kv["records"].has(ccf.strToBuf("echo")) ? "written" : "absent" }; }',
      'export function discards() { ccf.kv["records"].set(ccf.strToBuf("echo"), ccf.strToBuf("discarded")); ccf.rpc.setApplyWrites(false); return { body: "not applied" }; }',
      'export function nothing() {}',
      'export function empty() { return { statusCode: 204 }; }',
      'export function hidden() { return { statusCode: 204, body: "hidden" }; }',
      'export function keeps() { ccf.kv["records"].set(ccf.strToBuf("kept"), ccf.strToBuf("yes")); ccf.rpc.setApplyWrites(true); return { statusCode: 409, body: "kept anyway" }; }',
    ].join('\n') }],
  }));
  const deployed = runCoco(['app', 'deploy', join(scratch, 'bad-app.json'), '--workspace', sandbox.workspace]);
  assert.equal(deployed.status, 0, deployed.stderr);
  const split = await user.request('POST', '/app/echo', { body: 'a\r\nset-cookie: injected', allowError: true });
  assert.equal(split.status, 500);
  assert.equal(split.headers['set-cookie'], undefined);
  assert.match(split.json<{ error: { message: string } }>().error.message, /^Invalid endpoint function return value \(header value type\)\. /);
  // As in CCF, what is wrong with the app is named in the message, without return_exception_details.
  const missing = await user.request('POST', '/app/missing', { allowError: true });
  assert.deepEqual([missing.status, missing.json<{ error: { message: string } }>().error.message], [500, "Failed to find export 'missing' in module '/bad.js'"]);
  const nothing = await user.request('POST', '/app/nothing', { allowError: true });
  assert.match(nothing.json<{ error: { message: string } }>().error.message, /^Invalid endpoint function return value \(not an object\)\. .*got undefined$/);
  const empty = await user.request('POST', '/app/empty');
  assert.deepEqual([empty.status, empty.headers['content-type'], empty.headers['content-length']], [204, undefined, undefined], 'no body: no content type, as in CCF');
  // CCF sets the content type of the body a handler returns, whatever the status: a 204 keeps it, but HTTP lets it carry no body.
  const hidden = await user.request('POST', '/app/hidden');
  assert.deepEqual([hidden.status, hidden.headers['content-type'], hidden.headers['content-length'], hidden.text()], [204, 'text/plain', undefined, '']);
  assert.equal(split.headers['x-ms-ccf-transaction-id'], undefined, 'as in CCF, an error names no transaction');
  assert.equal((await user.request('GET', '/app/echo')).text(), 'absent', 'the failed call wrote nothing');
  // A 200 whose writes the handler discarded names no transaction either: nothing was committed.
  const discarded = await user.request('POST', '/app/discard');
  assert.equal(discarded.text(), 'not applied');
  assert.equal(discarded.headers['x-ms-ccf-transaction-id'], undefined);
  assert.equal((await user.request('GET', '/app/echo')).text(), 'absent');
  // An error status whose writes the handler kept names their transaction, as in CCF: the caller can follow it.
  const kept = await user.request('POST', '/app/keep', { allowError: true });
  assert.equal(kept.status, 409);
  assert.ok(kept.txId !== undefined, 'the kept write names its TxID');
  await waitForCommit(user, kept.txId, { timeoutMs: 10_000 });
  const fine = await user.request('POST', '/app/echo', { body: 'fine' });
  assert.equal(fine.headers['x-echo'], 'fine');
  assert.match(fine.headers['x-ms-ccf-transaction-id'] as string, /^\d+\.\d+$/);
  const read = await user.request('GET', '/app/echo');
  assert.equal(read.text(), 'written');
  const seqno = (header: unknown) => Number(String(header).split('.')[1]);
  assert.ok(seqno(read.headers['x-ms-ccf-transaction-id']) >= seqno(fine.headers['x-ms-ccf-transaction-id']), 'a read names the last write it may have read (a signature may come after the echo)');
  const thrown = await user.request('POST', '/app/throw', { allowError: true });
  assert.equal(thrown.status, 500);
  assert.equal(thrown.json<{ error: { message: string } }>().error.message, 'Exception thrown while executing.', 'no details unless governance asks');
  // Governance turns on exception details and shortens the time limit; both apply at once.
  const options = join(scratch, 'runtime-options.json');
  writeFileSync(options, JSON.stringify({ actions: [{ name: 'set_js_runtime_options', args: { max_heap_bytes: 100 * 1024 * 1024, max_stack_bytes: 1024 * 1024, max_execution_time_ms: 500, return_exception_details: true } }] }));
  const proposed = JSON.parse(gov(['propose', options]).stdout);
  assert.equal(JSON.parse(gov(['vote', proposed.proposalId, '--accept']).stdout).proposalState, 'Accepted');
  const detailed = await user.request('POST', '/app/throw', { allowError: true });
  assert.equal(detailed.status, 500);
  // CCF's shape: the same message, the reason and the JS stack in details.
  const { error } = detailed.json<{ error: { code: string; message: string; details: { code: string; message: string; trace?: string }[] } }>();
  assert.equal(error.message, 'Exception thrown while executing.');
  assert.equal(error.details.length, 1);
  assert.equal(error.details[0]!.code, 'JSException');
  assert.equal(error.details[0]!.message, 'Error: boom');
  assert.match(error.details[0]!.trace ?? '', /at throws \(\/?bad\.js:\d+/);
  const looped = await user.request('POST', '/app/loop', { allowError: true, timeoutMs: 30_000 });
  assert.equal(looped.status, 500);
  // As CCF: a handler stopped at its time limit is detailed like one that threw; only the message differs.
  const timedOut = looped.json<{ error: { message: string; details: { code: string; message: string }[] } }>().error;
  assert.equal(timedOut.message, 'Operation took too long to complete.');
  assert.equal(timedOut.details[0]?.code, 'JSException');
  // CCF's details name QuickJS's own reason for each limit.
  assert.equal(timedOut.details[0]?.message, 'InternalError: interrupted');
  for (const [path, reason] of [['/app/deep', 'InternalError: stack overflow'], ['/app/hog', 'InternalError: out of memory']]) {
    const stopped = await user.request('POST', path!, { allowError: true, timeoutMs: 30_000 });
    assert.equal(stopped.status, 500);
    const { message, details } = stopped.json<{ error: { message: string; details: { code: string; message: string }[] } }>().error;
    assert.deepEqual([message, details[0]?.code, details[0]?.message], ['Exception thrown while executing.', 'JSException', reason]);
  }
  const commit = (await anonymous.request('GET', '/node/commit')).json<{ transaction_id: string }>();
  assert.match(commit.transaction_id, /^\d+\.\d+$/);
  const state = (await anonymous.request('GET', '/node/state')).json<{ state: string }>();
  assert.equal(state.state, 'PartOfNetwork');
  // Back to the logging app: what was committed before is still there.
  const redeployed = runCoco(['app', 'deploy', join(repoRoot, 'samples', 'logging', 'dist', 'bundle.json'), '--workspace', sandbox.workspace]);
  assert.equal(redeployed.status, 0, redeployed.stderr);
  assert.deepEqual((await user.request('GET', '/app/log/private?id=1')).json(), before);
});

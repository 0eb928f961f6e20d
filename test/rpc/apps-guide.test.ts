// docs/apps.md's first app, the notary, taken from the page as it stands and run on a node in this
// process over real TLS: its requests answer as the page shows them, and its receipt carries the
// claims digest the page has the signer compute.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CocoClient } from '../../src/client/coco-client.js';
import { signUserRequest } from '../../src/client/cose-signing.js';
import { requireTxId, waitForCommit } from '../../src/client/transactions.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { parseAppBundle } from '../../src/js/app-bundle.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { appServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const guide = readFileSync(join(repoRoot, 'docs/apps.md'), 'utf8');

/** The code block the guide introduces with "`<file>`:". */
function fileInGuide(file: string): string {
  const found = new RegExp(`^\`${file.replaceAll('.', '\\.')}\`:\\n\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\`$`, 'm').exec(guide);
  assert.ok(found, `docs/apps.md shows no ${file}`);
  return found[1]!;
}

const user0 = (() => {
  const keyPair = generateKeyPair('P-384');
  const certPem = createSelfSignedCertificate({ subjectCn: 'user0', keyPair, validFrom: new Date(Date.now() - 60_000), validityDays: 1, isCa: false });
  return { certPem, keyPem: keyPair.privateKeyPem, id: certificateId(certPem) };
})();

let service: BuiltinEndpointsServer;
let client: CocoClient;

before(async () => {
  const bundle = parseAppBundle({ metadata: JSON.parse(fileInGuide('notary/app.json')), modules: [{ name: 'app.js', module: fileInGuide('notary/src/app.js') }] });
  service = await appServer(bundle, (tx) => {
    tx.map(Tables.usersCerts).set(utf8(user0.id), utf8(user0.certPem));
    tx.map(Tables.usersInfo).set(utf8(user0.id), encodeJson({ user_data: { role: 'auditor' } }));
  });
  client = new CocoClient({ url: service.origin, caCertPem: service.tls.certPem, certPem: user0.certPem, keyPem: user0.keyPem });
});

after(async () => {
  client?.close();
  await service?.close();
});

/** What sign-statement.mjs sends: user0's signature over {endpoint, seq, text}. */
function signedStatement(statement: Record<string, unknown>): { body: Uint8Array; payload: Uint8Array } {
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  const body = signUserRequest({ signerCertPem: user0.certPem, signerKeyPem: user0.keyPem, content: payload, msgType: 'statement', createdAt: Math.floor(Date.now() / 1000) });
  return { body, payload };
}

test('echo shows the request as the guide does: raw path and params, decoded query, the route, the caller and its data', async () => {
  const answer = await client.request('GET', '/app/echo/a%2Fb%20c?x=1&y=%C3%A9', { headers: { accept: 'application/json' } });
  assert.deepEqual(answer.json(), {
    method: 'GET',
    path: '/app/echo/a%2Fb%20c',
    route: '/app/echo/{name}',
    url: '/app/echo/a%2Fb%20c?x=1&y=é',
    query: 'x=1&y=é',
    params: { name: 'a%2Fb%20c' },
    name: 'a/b c',
    hostname: new URL(service.origin).host,
    accept: 'application/json',
    caller: { policy: 'user_cert', id: user0.id, data: { role: 'auditor' } },
  });
  const anonymous = await service.client.request('GET', '/app/echo/x', { allowError: true });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.text(), '{"error":{"code":"InvalidAuthenticationInfo","message":"Invalid authentication credentials.","details":[{"auth_policy":"user_cert","code":"InvalidAuthenticationInfo","message":"No caller user certificate"}]}}');
});

test('a signed statement is kept once, for its endpoint only, and its receipt carries the digest of what was signed', { timeout: 60_000 }, async () => {
  const statement = { endpoint: 'POST /app/statements', seq: 1, text: 'release 1.2 approved' };
  const { body, payload } = signedStatement(statement);
  const posted = await client.request('POST', '/app/statements', { body, contentType: 'application/cose' });
  assert.deepEqual(posted.json(), { user_id: user0.id, seq: 1 });

  const again = await client.request('POST', '/app/statements', { body, contentType: 'application/cose', allowError: true });
  assert.equal(again.status, 409);
  assert.deepEqual(again.json(), { error: { code: 'StatementReplayed', message: "seq must be above 1, the signer's last statement" } });
  const elsewhere = await client.request('POST', '/app/statements', { body: signedStatement({ ...statement, endpoint: 'POST /app/other', seq: 2 }).body, contentType: 'application/cose', allowError: true });
  assert.equal(elsewhere.status, 400);
  assert.equal(elsewhere.json<{ error: { code: string } }>().error.code, 'WrongEndpoint');

  assert.deepEqual((await client.request('GET', `/app/statements/${user0.id}/1`)).json(), statement);

  const txId = requireTxId(posted.txId);
  await waitForCommit(client, txId);
  const receipt = (await client.request('GET', `/app/receipt?transaction_id=${formatTxId(txId)}`)).json<{ leaf_components: { claims_digest: string } }>();
  assert.equal(receipt.leaf_components.claims_digest, createHash('sha256').update(payload).digest('hex'));
});

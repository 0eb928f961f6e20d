// The governance REST API over HTTPS against a real in-process node: each refusal answers the HTTP
// status, CCF error code and (where CCF's text is fixed) message that CCF's handlers answer —
// src/node/gov/handlers/{helpers,proposals,acks,recovery,service_state}.h and
// src/endpoints/authentication/cose_auth.cpp in microsoft/CCF.

import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import type { CocoResponse } from '../../src/client/coco-response.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { COSE_ALG_ES384, COSE_HEADER_ALG, COSE_HEADER_KID, encodeCbor, encodeCoseSign1, sigStructure, signCoseSign1 } from '../../src/crypto/cose-sign1.js';
import { curveOf, sign as signBytes } from '../../src/crypto/signing.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { pemToDer } from '../../src/crypto/pem.js';
import { encodeJson, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { Governance } from '../../src/governance/proposals.js';
import { addGovEndpoints } from '../../src/rpc/gov-endpoints.js';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createIdentity, createService, type Identity } from '../client/tls-fixture.js';
import { testRpcServer } from './rpc-server-fixture.js';
import { TestHost } from '../js/js-test-host.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { realChunks } from '../support/real-ledgers.js';

const API = '?api-version=2024-07-01';
// Proposals stay Open, so that they can take ballots and be withdrawn.
const CONSTITUTION = `
export function validate(input) { return { valid: Array.isArray(JSON.parse(input).actions), description: "needs actions" }; }
export function resolve() { return "Open"; }
export function apply() {}
`;
const INT64_MAX = 2n ** 63n - 1n;
const UNKNOWN_ID = 'ab'.repeat(32);

let instance: InProcessNode;
let runner: JsConstitutionRunner;
let server: RpcServer;
let client: CocoClient;
let member0: Identity;
/** Registered, but Accepted: it has not acked its state digest. */
let member1: Identity;
let proposalId: string;
let clock = 1_700_000_000;

interface Signed {
  msgType: string;
  content?: string;
  createdAt?: number | bigint;
  proposalId?: string;
  signer?: Identity;
  /** By default the signer's ID as bytes. */
  kid?: Uint8Array;
}

/** A member's COSE Sign1 request, built here so that it can carry what the client SDK refuses to sign. */
function sign({ msgType, content = '', createdAt = clock++, proposalId: signedId, signer = member0, kid = utf8(signer.id) }: Signed): Uint8Array {
  const header = new Map<number | string, unknown>([
    [COSE_HEADER_KID, kid],
    ['ccf.gov.msg.type', msgType],
    // cbor-x writes a number past 2^32 - 1 as a float; a bigint stays an integer.
    ['ccf.gov.msg.created_at', typeof createdAt === 'number' && createdAt > 0xffff_ffff ? BigInt(createdAt) : createdAt],
  ]);
  if (signedId !== undefined) header.set('ccf.gov.msg.proposal_id', signedId);
  return signCoseSign1({ privateKey: signer.keyPem, protectedHeader: header, payload: utf8(content) });
}

/** `contentType` null: the request has none. */
function post(path: string, body: Uint8Array | undefined, contentType: string | null = 'application/cose'): Promise<CocoResponse> {
  return client.request('POST', `/gov${path}${API}`, { ...(body && { body }), ...(contentType !== null && { contentType }), allowError: true });
}

function get(path: string): Promise<CocoResponse> {
  return client.request('GET', `/gov${path}${API}`, { allowError: true });
}

/** [status, code, message] of a response: what each case is checked against. */
function outcome(response: CocoResponse): [number, string | undefined, string | undefined] {
  if (response.status < 400) return [response.status, undefined, undefined];
  const { error } = response.json<{ error: { code: string; message: string } }>();
  return [response.status, error.code, error.message];
}

async function stateDigest(signer: Identity): Promise<string> {
  const updated = await post(`/members/state-digests/${signer.id}:update`, sign({ msgType: 'state_digest', signer }));
  assert.equal(updated.status, 200, updated.text());
  return updated.json<{ stateDigest: string }>().stateDigest;
}

before(async () => {
  instance = startInProcessNode({ constitution: CONSTITUTION });
  await instance.node.waitForCommit(2);
  member0 = { certPem: instance.memberCertPem, keyPem: instance.memberKeyPem, id: certificateId(instance.memberCertPem) };
  member1 = await createIdentity('member1');
  instance.node.execute((tx) => {
    tx.map(Tables.membersCerts).set(utf8(member1.id), utf8(member1.certPem));
    tx.map(Tables.membersInfo).set(utf8(member1.id), encodeJson({ status: 'Accepted' }));
    tx.map(Tables.membersAcks).set(utf8(member1.id), encodeJson({ state_digest: '' }));
    return { result: undefined, applyWrites: true };
  });
  runner = await JsConstitutionRunner.create(new TestHost(), instance.node.governanceHost(), { maxExecutionTimeMs: 200 });
  const service = await createService();
  ({ server } = testRpcServer(service, { caps: { soft: 100, hard: 110 }, maxBodyBytes: 1024 * 1024, currentTxId: () => instance.node.lastTxId }));
  addGovEndpoints(server, instance.node, new Governance(runner));
  const { port } = await server.listen('127.0.0.1', 0);
  client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: service.certPem });
  // member0 becomes Active through the API, then proposes.
  const digest = await stateDigest(member0);
  // CCF's words for an ack of another digest, then what to do.
  const stale = await post(`/members/state-digests/${member0.id}:ack`, sign({ msgType: 'ack', content: JSON.stringify({ stateDigest: '00' }) }));
  assert.equal(stale.status, 400);
  assert.match(stale.json<{ error: { message: string } }>().error.message, new RegExp(`^Submitted state digest is not valid\\.\\nExpected\\n ${digest}\\nReceived\\n 00\\n`));
  const acked = await post(`/members/state-digests/${member0.id}:ack`, sign({ msgType: 'ack', content: JSON.stringify({ stateDigest: digest }) }));
  assert.equal(acked.status, 204, acked.text());
  const created = await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}' }));
  assert.equal(created.status, 200, created.text());
  proposalId = created.json<{ proposalId: string }>().proposalId;
});

after(async () => {
  client?.close();
  await server?.close();
  runner?.dispose();
  await instance?.close();
});

describe('members sign requests with the ECDSA algorithms CCF takes, ES256, ES384 and ES512, and no other (cose_auth.cpp)', () => {
  for (const curve of ['P-256', 'P-521'] as const) {
    test(`a ${curve} member acks its state digest, then proposes`, async () => {
      const signer = await createIdentity(`member ${curve}`, curve);
      instance.node.execute((tx) => {
        tx.map(Tables.membersCerts).set(utf8(signer.id), utf8(signer.certPem));
        tx.map(Tables.membersInfo).set(utf8(signer.id), encodeJson({ status: 'Accepted' }));
        tx.map(Tables.membersAcks).set(utf8(signer.id), encodeJson({ state_digest: '' }));
        return { result: undefined, applyWrites: true };
      });
      const digest = await stateDigest(signer);
      const acked = await post(`/members/state-digests/${signer.id}:ack`, sign({ msgType: 'ack', content: JSON.stringify({ stateDigest: digest }), signer }));
      assert.equal(acked.status, 204, acked.text());
      const created = await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}', signer }));
      assert.equal(created.status, 200, created.text());
      assert.equal(created.json<{ proposerId: string }>().proposerId, signer.id);
    });
  }
  test('an Ed25519 member signs with EdDSA, which CCF does not take: every signed request is 401 "Unsupported algorithm: -8"', async () => {
    const signer = await createIdentity('member Ed25519', 'Ed25519');
    instance.node.execute((tx) => {
      tx.map(Tables.membersCerts).set(utf8(signer.id), utf8(signer.certPem));
      tx.map(Tables.membersInfo).set(utf8(signer.id), encodeJson({ status: 'Active' }));
      return { result: undefined, applyWrites: true };
    });
    const refused = [401, 'InvalidAuthenticationInfo', 'Unsupported algorithm: -8'];
    assert.deepEqual(outcome(await post(`/members/state-digests/${signer.id}:update`, sign({ msgType: 'state_digest', signer }))), refused);
    assert.deepEqual(outcome(await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}', signer }))), refused);
  });
});

test('the kid names a member byte for byte, as CCF looks it up: a UTF-8 BOM before member0\'s ID is 401 "Signer is not a known member"', async () => {
  const kid = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(member0.id)]);
  const refused = [401, 'InvalidAuthenticationInfo', 'Signer is not a known member'];
  assert.deepEqual(outcome(await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}', kid }))), refused);
  assert.deepEqual(outcome(await post(`/members/state-digests/${member0.id}:update`, sign({ msgType: 'state_digest', kid }))), refused);
});

describe('the protected header is read from its encoding, as CCF reads it: a float where CCF reads an integer, no alg, or a msg type that is not text is 401', () => {
  const FLOAT_1 = Uint8Array.of(0xf9, 0x3c, 0x00);
  const FLOAT_4 = Uint8Array.of(0xf9, 0x44, 0x00);
  const FLOAT_MINUS_35 = Uint8Array.of(0xf9, 0xd0, 0x60);
  type Entry = [label: Uint8Array, value: Uint8Array];
  const ALG: Entry = [encodeCbor(COSE_HEADER_ALG), encodeCbor(COSE_ALG_ES384)];
  const KID = (): Entry => [encodeCbor(COSE_HEADER_KID), encodeCbor(utf8(member0.id))];
  const TYPE: Entry = [encodeCbor('ccf.gov.msg.type'), encodeCbor('proposal')];
  /** member0's proposal whose protected header holds these alg (none if undefined), kid and type entries, encoded as they are. */
  function proposalWith(alg: Entry | undefined, kid: Entry, type = TYPE): Uint8Array {
    assert.equal(curveOf(member0.keyPem), 'P-384');
    const entries = [...(alg === undefined ? [] : [alg]), kid, type, [encodeCbor('ccf.gov.msg.created_at'), encodeCbor(clock++)]];
    const protectedBytes = concatBytes(Uint8Array.of(0xa0 + entries.length), ...entries.flat());
    const payload = utf8('{"actions": []}');
    const signature = signBytes(member0.keyPem, sigStructure(protectedBytes, payload), 'ieee-p1363');
    return encodeCoseSign1({ protectedBytes, protectedHeader: new Map(), unprotectedHeader: new Map(), payload, signature });
  }
  test('integer labels and alg: created', async () => {
    assert.equal((await post('/members/proposals:create', proposalWith(ALG, KID()))).status, 200);
  });
  const notALabel = 'protected header labels must be integers or text strings, not a float or simple value';
  for (const [what, alg, kid, reason] of [
    ['kid under the label 4.0', ALG, (): Entry => [FLOAT_4, KID()[1]], notALabel],
    ['alg under the label 1.0', [FLOAT_1, ALG[1]], KID, notALabel],
    ['alg -35.0', [ALG[0], FLOAT_MINUS_35], KID, 'alg (1) must be an integer or a text string, not a float or simple value'],
  ] as [string, Entry, () => Entry, string][]) {
    test(what, async () => {
      assert.deepEqual(outcome(await post('/members/proposals:create', proposalWith(alg, kid()))), [401, 'InvalidAuthenticationInfo', `the request body is not a COSE Sign1 message: COSE Sign1: ${reason}`]);
    });
  }
  test('no alg: CCF\'s "Missing algorithm in protected header"', async () => {
    assert.deepEqual(outcome(await post('/members/proposals:create', proposalWith(undefined, KID()))), [401, 'InvalidAuthenticationInfo', 'Missing algorithm in protected header']);
  });
  test('ccf.gov.msg.type as a byte string: it must be a text string', async () => {
    const bytesType: Entry = [TYPE[0], encodeCbor(utf8('proposal'))];
    assert.deepEqual(outcome(await post('/members/proposals:create', proposalWith(ALG, KID(), bytesType))), [401, 'InvalidAuthenticationInfo', 'the protected header ccf.gov.msg.type must be a text string, such as "proposal"']);
  });
});

test('a signed request is authenticated before its api-version is read, as CCF authenticates before the handler does: a bad signature is 401, whatever the api-version', async () => {
  const postWith = (query: string, body: Uint8Array) => client.request('POST', `/gov/members/state-digests/${member0.id}:update${query}`, { body, contentType: 'application/cose', allowError: true });
  const forged = sign({ msgType: 'state_digest' });
  forged[forged.length - 5]! ^= 1;
  for (const query of ['', '?api-version=1999-01-01']) {
    assert.deepEqual(outcome(await postWith(query, forged)).slice(0, 2), [401, 'InvalidAuthenticationInfo'], query);
    assert.deepEqual(outcome(await postWith(query, utf8('{}'))).slice(0, 2), [401, 'InvalidAuthenticationInfo'], query);
  }
  // Signed, the request then gets CCF's refusals of its api-version.
  assert.equal(outcome(await postWith('', sign({ msgType: 'state_digest' })))[1], 'MissingApiVersionParameter');
  assert.equal(outcome(await postWith('?api-version=1999-01-01', sign({ msgType: 'state_digest' })))[1], 'UnsupportedApiVersionValue');
});

describe('a request signed for another proposal than its URL names: 400 InvalidResourceName (helpers.h)', () => {
  const mismatch = [400, 'InvalidResourceName', 'Authenticated proposal id does not match URL'];
  test('a ballot', async () => {
    const ballot = JSON.stringify({ ballot: 'export function vote() { return true; }' });
    assert.deepEqual(outcome(await post(`/members/proposals/${proposalId}/ballots/${member0.id}:submit`, sign({ msgType: 'ballot', content: ballot, proposalId: UNKNOWN_ID }))), mismatch);
    assert.deepEqual(outcome(await post(`/members/proposals/${proposalId}/ballots/${member0.id}:submit`, sign({ msgType: 'ballot', content: ballot }))), mismatch, 'no proposal ID signed');
  });
  test('a withdrawal', async () => {
    assert.deepEqual(outcome(await post(`/members/proposals/${proposalId}:withdraw`, sign({ msgType: 'withdrawal', proposalId: UNKNOWN_ID }))), mismatch);
    assert.deepEqual(outcome(await post(`/members/proposals/${UNKNOWN_ID}:withdraw`, sign({ msgType: 'withdrawal', proposalId }))), mismatch);
  });
});

describe("a request for another member than its signer: 400 (acks.h, helpers.h)", () => {
  test("an ack or a digest update in another member's name: InvalidAuthenticationInfo, without a challenge", async () => {
    const expected = [400, 'InvalidAuthenticationInfo', `Member ID from path parameter (${member1.id}) does not match member ID from body signature (${member0.id}).`];
    const digest = await stateDigest(member0);
    const ack = await post(`/members/state-digests/${member1.id}:ack`, sign({ msgType: 'ack', content: JSON.stringify({ stateDigest: digest }) }));
    assert.deepEqual(outcome(ack), expected);
    assert.equal(ack.headers['www-authenticate'], undefined);
    assert.deepEqual(outcome(await post(`/members/state-digests/${member1.id}:update`, sign({ msgType: 'state_digest' }))), expected);
    // The URL is not parsed as an ID: any other text is just another member.
    assert.equal(outcome(await post('/members/state-digests/not-an-id:update', sign({ msgType: 'state_digest' })))[1], 'InvalidAuthenticationInfo');
  });
  test("a ballot in another member's name: InvalidResourceName", async () => {
    const ballot = JSON.stringify({ ballot: 'export function vote() { return true; }' });
    assert.deepEqual(
      outcome(await post(`/members/proposals/${proposalId}/ballots/${member1.id}:submit`, sign({ msgType: 'ballot', content: ballot, proposalId }))),
      [400, 'InvalidResourceName', 'Authenticated member id does not match URL'],
    );
  });
});

test('a signed request whose crit header lists a parameter the service does not understand is refused 401, as RFC 9052 and CCF\'s t_cose require', async () => {
  const header = new Map<number | string, unknown>([
    [COSE_HEADER_KID, utf8(member0.id)],
    ['ccf.gov.msg.type', 'proposal'],
    ['ccf.gov.msg.created_at', clock++],
    [99, 1],
    [2, [99]],
  ]);
  const body = signCoseSign1({ privateKey: member0.keyPem, protectedHeader: header, payload: utf8('{"actions": []}') });
  const [status, code, message] = outcome(await post('/members/proposals:create', body));
  assert.deepEqual([status, code], [401, 'InvalidAuthenticationInfo']);
  assert.match(message!, /crit \(2\) lists the header parameter 99, which this service does not understand/);
});

test("governance reads answer whatever the Accept header says, as CCF's governance API writes its JSON", async () => {
  for (const accept of ['text/html', 'application/json; charset=utf-8', 'application/xml']) {
    const answer = await client.request('GET', `/gov/service/info${API}`, { headers: { accept }, allowError: true });
    assert.equal(answer.status, 200, `${accept}: ${answer.text()}`);
    assert.equal(answer.json<{ status: string }>().status, 'Opening');
  }
});

test('a recovery share is refused 403 ServiceNotWaitingForRecoveryShares: the service is not recovering', async () => {
  const path = `/recovery/members/${member0.id}:recover`;
  const share = JSON.stringify({ share: 'c2hhcmU=' });
  assert.deepEqual(outcome(await post(path, sign({ msgType: 'recovery_share', content: share }))), [
    403,
    'ServiceNotWaitingForRecoveryShares',
    'Service is not waiting for recovery shares. It is Opening.',
  ]);
  // Authentication comes first, as in CCF: an unsigned request, another message type, a member not Active.
  assert.deepEqual(outcome(await post(path, utf8(share), 'application/json'))[0], 401);
  assert.deepEqual(outcome(await post(path, sign({ msgType: 'ballot', content: share })))[1], 'InvalidAuthenticationInfo');
  assert.deepEqual(outcome(await post(`/recovery/members/${member1.id}:recover`, sign({ msgType: 'recovery_share', content: share, signer: member1 })))[2], 'Signer is not an ACTIVE member');
});

describe('a member that is not Active where Active is required: 401 InvalidAuthenticationInfo (cose_auth.cpp)', () => {
  for (const [what, path, msgType, content] of [
    ['a proposal', () => '/members/proposals:create', 'proposal', '{"actions": []}'],
    ['a ballot', () => `/members/proposals/${proposalId}/ballots/${member1.id}:submit`, 'ballot', '{"ballot": "export function vote() { return true; }"}'],
    ['a withdrawal', () => `/members/proposals/${proposalId}:withdraw`, 'withdrawal', ''],
  ] as const) {
    test(what, async () => {
      const response = await post(path(), sign({ msgType, content, signer: member1, ...(msgType !== 'proposal' && { proposalId }) }));
      assert.deepEqual(outcome(response), [401, 'InvalidAuthenticationInfo', 'Signer is not an ACTIVE member']);
      assert.equal(response.headers['www-authenticate'], 'COSE-SIGN1 realm="Signed request access"');
      // As CCF's frontend: the policy's reason in the error's details too, named as CCF names the policy these routes take.
      assert.deepEqual(response.json<{ error: { details: unknown } }>().error.details, [{ auth_policy: 'active_member_cose_sign1', code: 'InvalidAuthenticationInfo', message: 'Signer is not an ACTIVE member' }]);
    });
  }
  test('but it may refresh its state digest', async () => {
    assert.match(await stateDigest(member1), /^[0-9a-f]{64}$/);
  });
});

test("a signed request of another message type, or of none, is refused in CCF's words, naming the policy as CCF does (its test_cose_msg_type_validation)", async () => {
  const details = async (path: string, body: Uint8Array) => (await post(path, body)).json<{ error: { details: unknown[] } }>().error.details;
  const noType = signCoseSign1({ privateKey: member0.keyPem, protectedHeader: new Map<number | string, unknown>([[COSE_HEADER_KID, utf8(member0.id)], ['ccf.gov.msg.created_at', clock++]]), payload: utf8('{ not valid json') });
  assert.deepEqual(await details('/members/proposals:create', noType), [
    { auth_policy: 'active_member_cose_sign1', code: 'InvalidAuthenticationInfo', message: 'Missing ccf.gov.msg.type, expected ccf.gov.msg.type to be proposal' },
  ]);
  for (const [path, expected, policy] of [
    ['/members/proposals:create', 'proposal', 'active_member_cose_sign1'],
    [`/members/proposals/${proposalId}:withdraw`, 'withdrawal', 'active_member_cose_sign1'],
    [`/members/proposals/${proposalId}/ballots/${member0.id}:submit`, 'ballot', 'active_member_cose_sign1'],
    [`/members/state-digests/${member0.id}:ack`, 'ack', 'member_cose_sign1'],
    [`/members/state-digests/${member0.id}:update`, 'state_digest', 'member_cose_sign1'],
  ] as const) {
    const body = sign({ msgType: 'incorrect', content: '{ not valid json', proposalId });
    assert.deepEqual(await details(path, body), [{ auth_policy: policy, code: 'InvalidAuthenticationInfo', message: `Found ccf.gov.msg.type set to incorrect, expected ccf.gov.msg.type to be ${expected}` }], path);
  }
});

describe('a COSE-signed POST without Content-Type: application/cose: 401 InvalidAuthenticationInfo (cose_auth.cpp)', () => {
  test('no content type', async () => {
    const response = await post('/members/proposals:create', undefined, null);
    assert.deepEqual(outcome(response), [401, 'InvalidAuthenticationInfo', 'Missing content-type header']);
    assert.equal(response.headers['www-authenticate'], 'COSE-SIGN1 realm="Signed request access"');
    assert.equal(response.json<{ error: { details: { auth_policy: string }[] } }>().error.details[0]?.auth_policy, 'active_member_cose_sign1');
  });
  for (const type of ['application/json', 'application/octet-stream', 'application/cose; charset=utf-8']) {
    test(`Content-Type: ${type}`, async () => {
      const body = sign({ msgType: 'state_digest' });
      assert.deepEqual(outcome(await post(`/members/state-digests/${member0.id}:update`, body, type)), [401, 'InvalidAuthenticationInfo', 'Content type is not set to application/cose']);
    });
  }
});

describe('a malformed ID in the path: 400 InvalidResourceName (helpers.h)', () => {
  const notHex = 'g'.repeat(64);
  for (const bad of ['xyz', 'a'.repeat(63), 'a'.repeat(65), notHex]) {
    test(`'${bad.length > 8 ? `${bad[0]} x ${bad.length}` : bad}' on every route that parses one`, async () => {
      const proposal = (response: CocoResponse) => assert.deepEqual(outcome(response), [400, 'InvalidResourceName', `'${bad}' is not a valid hex-encoded proposal ID`]);
      const member = (response: CocoResponse) => assert.deepEqual(outcome(response), [400, 'InvalidResourceName', `'${bad}' is not a valid hex-encoded member ID`]);
      proposal(await get(`/members/proposals/${bad}`));
      proposal(await get(`/members/proposals/${bad}/actions`));
      proposal(await get(`/members/proposals/${bad}/ballots/${member0.id}`));
      member(await get(`/members/proposals/${proposalId}/ballots/${bad}`));
      // Signed for that very ID: the malformed ID is refused before it is compared.
      proposal(await post(`/members/proposals/${bad}:withdraw`, sign({ msgType: 'withdrawal', proposalId: bad })));
      proposal(await post(`/members/proposals/${bad}/ballots/${member0.id}:submit`, sign({ msgType: 'ballot', content: '{"ballot": ""}', proposalId: bad })));
      member(await post(`/members/proposals/${proposalId}/ballots/${bad}:submit`, sign({ msgType: 'ballot', content: '{"ballot": ""}', proposalId })));
      member(await get(`/recovery/encrypted-shares/${bad}`));
      member(await get(`/service/members/${bad}`));
      assert.deepEqual(outcome(await get(`/service/users/${bad}`)), [400, 'InvalidResourceName', `'${bad}' is not a valid hex-encoded user ID`]);
      assert.deepEqual(outcome(await get(`/service/nodes/${bad}`)), [400, 'InvalidResourceName', `'${bad}' is not a valid hex-encoded node ID`]);
    });
  }
  test('a well-formed ID that names nothing is 404 (204 for a withdrawal), in CCF words', async () => {
    assert.deepEqual(outcome(await get(`/members/proposals/${UNKNOWN_ID}`)), [404, 'ProposalNotFound', `Could not find proposal ${UNKNOWN_ID}.`]);
    assert.deepEqual(outcome(await post(`/members/proposals/${UNKNOWN_ID}:withdraw`, sign({ msgType: 'withdrawal', proposalId: UNKNOWN_ID }))), [204, undefined, undefined]);
    assert.deepEqual(outcome(await get(`/service/members/${UNKNOWN_ID}`)), [404, 'ResourceNotFound', `Member ${UNKNOWN_ID} does not exist.`]);
    assert.deepEqual(outcome(await get(`/service/users/${UNKNOWN_ID}`)), [404, 'ResourceNotFound', `User ${UNKNOWN_ID} does not exist.`]);
    assert.deepEqual(outcome(await get(`/service/nodes/${UNKNOWN_ID}`)), [404, 'ResourceNotFound', `Node ${UNKNOWN_ID} does not exist.`]);
    // Upper-case hex is well-formed; IDs are stored in lower case.
    assert.equal(outcome(await get(`/service/members/${member0.id.toUpperCase()}`))[0], 404);
  });
  test('state digests take the member ID as it is: an unknown one is 404 ResourceNotFound (acks.h)', async () => {
    assert.deepEqual(outcome(await get('/members/state-digests/xyz')), [404, 'ResourceNotFound', 'No ACK record exists for member xyz.']);
  });
});

describe('created_at is a signed 64-bit integer: 2^63 - 1 authenticates, and only a proposal is bounded (proposals.h)', () => {
  test('a proposal created at 2^63 - 1: 400 InvalidCreatedAt', async () => {
    assert.deepEqual(
      outcome(await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}', createdAt: INT64_MAX }))),
      [400, 'InvalidCreatedAt', 'Header parameter created_at value is too large'],
    );
    assert.equal(outcome(await post('/members/proposals:create', sign({ msgType: 'proposal', content: '{"actions": []}', createdAt: 10_000_000_000 })))[1], 'InvalidCreatedAt');
  });
  test('a state digest update created at 2^63 - 1 is taken', async () => {
    assert.equal((await post(`/members/state-digests/${member0.id}:update`, sign({ msgType: 'state_digest', createdAt: INT64_MAX }))).status, 200);
  });
  test('2^63 does not fit: 401', async () => {
    assert.equal(outcome(await post(`/members/state-digests/${member0.id}:update`, sign({ msgType: 'state_digest', createdAt: INT64_MAX + 1n })))[0], 401);
  });
});

describe('an ack with no ack record to acknowledge (acks.h)', () => {
  test('is refused 403 AuthorizationFailed; a digest update then creates the record', async () => {
    instance.node.execute((tx) => {
      tx.map(Tables.membersAcks).delete(utf8(member1.id));
      return { result: undefined, applyWrites: true };
    });
    const ack = await post(`/members/state-digests/${member1.id}:ack`, sign({ msgType: 'ack', content: '{"stateDigest": ""}', signer: member1 }));
    assert.deepEqual(outcome(ack), [403, 'AuthorizationFailed', `No ACK record exists for member ${member1.id}.`]);
    const digest = await stateDigest(member1);
    assert.equal((await get(`/members/state-digests/${member1.id}`)).json<{ stateDigest: string }>().stateDigest, digest);
  });
});

/** The JWT key writes of a real CCF 6 ledger (genesis-14): CCF's table and encoding. */
function realLedgerJwtKeyWrites(): { key: Uint8Array; value: Uint8Array }[] {
  const writes = realChunks('genesis-14').flatMap((chunk) => chunk.decoded.entries.flatMap((entry) => entry.publicMaps.filter((map) => map.name === Tables.jwtPublicSigningKeysMetadata).flatMap((map) => map.writes)));
  assert.ok(writes.length > 0, 'genesis-14 holds JWT signing keys');
  return writes;
}

describe('GET /service/jwk (service_state.h)', () => {
  test("lists the keys of CCF's current table, as a real CCF ledger holds them, and those of its legacy tables", async () => {
    const legacyKey = await createIdentity('legacy jwt key');
    const certBase64 = Buffer.from(pemToDer(legacyKey.certPem)).toString('base64');
    const spkiPem = createPublicKey(legacyKey.certPem).export({ type: 'spki', format: 'pem' }).toString();
    instance.node.execute((tx) => {
      for (const { key, value } of realLedgerJwtKeyWrites()) tx.map(Tables.jwtPublicSigningKeysMetadata).set(key, value);
      tx.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('legacy-cert'), encodeJson([{ cert: certBase64, issuer: 'https://legacy.example', constraint: 'https://legacy.example/t' }]));
      tx.map(Tables.jwtLegacyPublicSigningKey).set(utf8('legacy-raw'), pemToDer(legacyKey.certPem));
      tx.map(Tables.jwtLegacyPublicSigningKeyIssuer).set(utf8('legacy-raw'), utf8('https://raw.example'));
      return { result: undefined, applyWrites: true };
    });
    const { keys } = (await get('/service/jwk')).json<{ keys: Record<string, { publicKey: string; issuer: string; constraint?: string | null }[]> }>();
    assert.deepEqual(keys['PDRf_Bs8CkDdi7av6hKLwRnNHmk']?.map((k) => [k.issuer, k.constraint]), [['https://login.microsoftonline.com/common/v2.0', 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0']]);
    assert.match(keys['PDRf_Bs8CkDdi7av6hKLwRnNHmk']![0]!.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    assert.deepEqual(keys['legacy-cert']?.map((k) => [k.publicKey, k.issuer, k.constraint]), [[spkiPem, 'https://legacy.example', 'https://legacy.example/t']]);
    assert.deepEqual(keys['legacy-raw']?.map((k) => [k.publicKey, k.issuer]), [[spkiPem, 'https://raw.example']]);
  });
  test('says "constraint": null for a key without an issuer constraint, as CCF does', async () => {
    const { keys } = (await get('/service/jwk')).json<{ keys: Record<string, Record<string, unknown>[]> }>();
    assert.deepEqual(Object.keys(keys['legacy-raw']![0]!), ['publicKey', 'issuer', 'constraint']);
    assert.equal(keys['legacy-raw']![0]!.constraint, null);
  });
});

describe('GET /service/transactions/{transactionId} reads a TxID as CCF does (transactions.h)', () => {
  test('what is not <view>.<seqno> below 2^64 is 400 InvalidQueryParameterValue naming the parameter', async () => {
    for (const bad of ['0x2.15', '2.15.1', '2', '-1.2', '1.18446744073709551616']) {
      const [status, code, message] = outcome(await get(`/service/transactions/${bad}`));
      assert.deepEqual([status, code], [400, 'InvalidQueryParameterValue'], bad);
      assert.ok(message?.startsWith(`The value '${bad}' passed as parameter 'transactionId' could not be converted to a valid Transaction ID`), message);
    }
  });
  test('a TxID with leading zeros or past 2^53 gets its status, named as CCF writes it', async () => {
    const { seqno } = instance.node.commitTxId;
    assert.deepEqual((await get(`/service/transactions/02.0${seqno}`)).json(), { status: instance.node.status({ view: 2, seqno }), transactionId: `2.${seqno}` });
    assert.deepEqual((await get('/service/transactions/18446744073709551615.18446744073709551615')).json(), { status: 'Unknown', transactionId: '18446744073709551615.18446744073709551615' });
  });
});

describe('GET /service/join-policy (service_state.h)', () => {
  test('lists the SGX code IDs members allowed (add_node_code in CCF constitutions), though no Coco node runs on SGX', async () => {
    const allowed = 'a'.repeat(64);
    const before = (await get('/service/join-policy')).json<{ sgx: { measurements: string[] } }>();
    assert.deepEqual(before.sgx, { measurements: [] });
    instance.node.execute((tx) => {
      tx.map(Tables.codeIds).set(utf8(allowed), encodeJson('AllowedToJoin'));
      return { result: undefined, applyWrites: true };
    });
    const after = (await get('/service/join-policy')).json<{ sgx: { measurements: string[] } }>();
    assert.deepEqual(after.sgx, { measurements: [allowed] });
  });
  test('lists only the virtual measurements whose status lets a node join, as CCF does', async () => {
    const measurements = async () => (await get('/service/join-policy')).json<{ virtual: { measurements: string[] } }>().virtual.measurements;
    const before = await measurements();
    instance.node.execute((tx) => {
      tx.map(Tables.virtualMeasurements).set(utf8('not-allowed'), encodeJson('SomeOtherStatus'));
      return { result: undefined, applyWrites: true };
    });
    assert.deepEqual(await measurements(), before);
  });
});

test("GET /service/info fills in CCF's defaults for configuration fields a record lacks; a missing module is CCF's 404", async () => {
  const setConfig = (value: Uint8Array) => instance.node.execute((tx) => {
    const before = tx.map(Tables.serviceConfig).get(SINGLETON)!;
    tx.map(Tables.serviceConfig).set(SINGLETON, value);
    return { result: before, applyWrites: true };
  }).result;
  const original = setConfig(encodeJson({ recovery_threshold: 1 }));
  try {
    assert.deepEqual((await get('/service/info')).json<{ configuration: unknown }>().configuration, {
      recoveryThreshold: 1,
      maximumNodeCertificateValidityDays: 365,
      maximumServiceCertificateValidityDays: 365,
      recentCoseProposalsWindowSize: 100,
    });
  } finally {
    setConfig(original);
  }
  const missing = await client.request('GET', `/gov/service/javascript-modules/nope.js${API}`, { allowError: true });
  assert.deepEqual([missing.status, missing.json<{ error: { code: string; message: string } }>().error], [404, { code: 'ResourceNotFound', message: 'Module nope.js does not exist.' }]);
});

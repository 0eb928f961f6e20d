// Specification of GovernanceClient against a TLS server that checks requests the way CCF's gov
// frontend does: every call carries ?api-version=2024-07-01; state-changing calls are
// application/cose bodies whose signature verifies with the member's certificate, whose kid names
// the member in the URL, whose msg type fits the route and whose proposal ID matches the URL's.

import assert from 'node:assert/strict';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { before, describe, it, type TestContext } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { COSE_HEADER_KID, decodeCoseSign1, verifyCoseSign1, type CoseSign1 } from '../../src/crypto/cose-sign1.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GOV_API_VERSION, GovernanceClient, type Proposal } from '../../src/client/governance-client.js';
import { CocoRequestError } from '../../src/client/request-error.js';
import { signGovernanceRequest, signUserRequest, type GovernanceMsgType } from '../../src/client/cose-signing.js';
import type { ExternalSigner, SignatureRequest } from '../../src/client/external-signing.js';
import { CocoError } from '../../src/errors.js';
import { ccfError, createIdentity, createService, reply, startServer, type Identity, type ReceivedRequest, type ServiceIdentity, type TestServer } from './tls-fixture.js';

const NOW_MS = 1_700_000_000_750;
const NOW_SECONDS = 1_700_000_000;
const PROPOSAL_ID = '1f'.repeat(32);
const STATE_DIGEST = 'ab'.repeat(32);

let service: ServiceIdentity;
let member: Identity;
let otherMember: Identity;

before(async () => {
  [service, member, otherMember] = await Promise.all([createService(), createIdentity('member0'), createIdentity('member1', 'P-256')]);
});

interface SignedCall {
  request: ReceivedRequest;
  cose: CoseSign1;
}

/** What the fake gov frontend accepted, for the tests to inspect. */
interface GovServer {
  server: TestServer;
  signed: SignedCall[];
}

function proposal(state: Proposal['proposalState'] = 'Open'): Proposal {
  return { proposalId: PROPOSAL_ID, proposerId: member.id, proposalState: state, ballotCount: 0 };
}

/** Routes of the fake frontend: method, path pattern, the COSE msg type it requires (if signed), answer. */
type Answer = [status: number, body?: object | string];
const ROUTES: [string, RegExp, string | undefined, (match: RegExpExecArray, payload: string) => Answer][] = [
  ['GET', /^\/gov\/members\/proposals$/, undefined, () => [200, { value: [proposal()] }]],
  ['POST', /^\/gov\/members\/proposals:create$/, 'proposal', () => [200, proposal()]],
  ['GET', /^\/gov\/members\/proposals\/([0-9a-f]{64})$/, undefined, () => [200, proposal()]],
  ['GET', /^\/gov\/members\/proposals\/([0-9a-f]{64})\/actions$/, undefined, () => [200, { actions: [{ name: 'set_constitution', args: {} }] }]],
  ['POST', /^\/gov\/members\/proposals\/([0-9a-f]{64}):withdraw$/, 'withdrawal', () => [200, proposal('Withdrawn')]],
  ['POST', /^\/gov\/members\/proposals\/([0-9a-f]{64})\/ballots\/([0-9a-f]{64}):submit$/, 'ballot', () => [200, { ...proposal('Accepted'), ballotCount: 1, finalVotes: { [member.id]: true } }]],
  ['GET', /^\/gov\/members\/proposals\/([0-9a-f]{64})\/ballots\/([0-9a-f]{64})$/, undefined, () => [200, 'export function vote() { return true; }']],
  ['GET', /^\/gov\/members\/state-digests\/([0-9a-f]{64})$/, undefined, (m) => [200, { memberId: m[1], stateDigest: STATE_DIGEST }]],
  ['POST', /^\/gov\/members\/state-digests\/([0-9a-f]{64}):update$/, 'state_digest', (m) => [200, { memberId: m[1], stateDigest: STATE_DIGEST }]],
  ['POST', /^\/gov\/members\/state-digests\/([0-9a-f]{64}):ack$/, 'ack', (_m, payload) => (JSON.parse(payload).stateDigest === STATE_DIGEST ? [204] : [400, { error: { code: 'StateDigestMismatch', message: 'stale' } }])],
  ['GET', /^\/gov\/service\/info$/, undefined, () => [200, { status: 'Open', certificate: service.certPem, recoveryCount: 0, creationTransactionId: '2.1', serviceData: null, configuration: { recoveryThreshold: 1, maximumNodeCertificateValidityDays: 365, maximumServiceCertificateValidityDays: 365, recentCoseProposalsWindowSize: 100 } }]],
  ['GET', /^\/gov\/service\/constitution$/, undefined, () => [200, 'export function validate() {}']],
  ['GET', /^\/gov\/service\/javascript-app$/, undefined, () => [200, { endpoints: { '/log': { GET: { jsModule: '/app.js', jsFunction: 'get', forwardingRequired: 'sometimes', authnPolicies: ['user_cert'], mode: 'readonly' } } } }]],
  ['GET', /^\/gov\/service\/members$/, undefined, () => [200, { value: [{ memberId: member.id, status: 'Active', certificate: member.certPem, recoveryRole: 'Participant' }] }]],
  ['GET', /^\/gov\/service\/members\/([0-9a-f]{64})$/, undefined, (m) => [200, { memberId: m[1], status: 'Accepted', certificate: member.certPem }]],
  ['GET', /^\/gov\/service\/users$/, undefined, () => [200, { value: [{ userId: 'u'.repeat(64), certificate: 'pem' }] }]],
  ['GET', /^\/gov\/service\/users\/(\w+)$/, undefined, (m) => [200, { userId: m[1], certificate: 'pem' }]],
  ['GET', /^\/gov\/service\/nodes$/, undefined, () => [200, { value: [{ nodeId: 'n1' }] }]],
  ['GET', /^\/gov\/service\/nodes\/(\w+)$/, undefined, (m) => [200, { nodeId: m[1], status: 'Trusted' }]],
  ['GET', /^\/gov\/service\/transactions\/(\d+\.\d+)$/, undefined, () => [200, { status: 'Committed' }]],
];

const MEMBERS_BY_ID = (): Map<string, string> => new Map([[member.id, member.certPem], [otherMember.id, otherMember.certPem]]);

async function startGovServer(t: TestContext): Promise<GovServer> {
  const signed: SignedCall[] = [];
  const server = await startServer(service, (request, res) => {
    if (request.url.searchParams.get('api-version') !== GOV_API_VERSION) {
      return ccfError(res, 400, 'MissingApiVersionParameter', 'api-version is missing or unknown');
    }
    for (const [method, pattern, msgType, answer] of ROUTES) {
      const match = pattern.exec(request.url.pathname);
      if (request.method !== method || match === null) continue;
      let payload = '';
      if (msgType !== undefined) {
        const rejection = checkSigned(request, match, msgType);
        if (typeof rejection === 'string') return ccfError(res, 401, 'InvalidAuthenticationInfo', rejection);
        signed.push({ request, cose: rejection });
        payload = fromUtf8(rejection.payload ?? new Uint8Array());
      }
      const [status, body] = answer(match, payload);
      return reply(res, status, body);
    }
    ccfError(res, 404, 'ResourceNotFound', `no route ${request.method} ${request.url.pathname}`);
  });
  t.after(() => server.close());
  return { server, signed };
}

/** CCF's member_cose_sign1 checks; a string says why the request is refused. */
function checkSigned(request: ReceivedRequest, match: RegExpExecArray, msgType: string): CoseSign1 | string {
  if (request.headers['content-type'] !== 'application/cose') return `content-type ${request.headers['content-type']}`;
  const cose = decodeCoseSign1(request.body);
  const kid = fromUtf8(cose.protectedHeader.get(COSE_HEADER_KID) as Uint8Array);
  const certPem = MEMBERS_BY_ID().get(kid);
  if (certPem === undefined) return `unknown kid ${kid}`;
  if (!verifyCoseSign1(cose, certPem)) return 'signature does not verify';
  if (cose.protectedHeader.get('ccf.gov.msg.type') !== msgType) return `msg type ${String(cose.protectedHeader.get('ccf.gov.msg.type'))}`;
  if (typeof cose.protectedHeader.get('ccf.gov.msg.created_at') !== 'number') return 'created_at missing';
  const pathMemberId = msgType === 'ballot' ? match[2] : msgType === 'state_digest' || msgType === 'ack' ? match[1] : undefined;
  if (pathMemberId !== undefined && pathMemberId !== kid) return 'member in URL is not the signer';
  const pathProposalId = msgType === 'ballot' || msgType === 'withdrawal' ? match[1] : undefined;
  if (pathProposalId !== undefined && cose.protectedHeader.get('ccf.gov.msg.proposal_id') !== pathProposalId) return 'proposal_id differs from the URL';
  return cose;
}

/** A governance client acting as `signer`, or as nobody in particular for null. */
function governance(t: TestContext, server: TestServer, signer: Identity | null = member): GovernanceClient {
  const client = new CocoClient({ url: server.url, caCertPem: service.certPem });
  t.after(() => client.close());
  return new GovernanceClient(client, { ...(signer && { member: { certPem: signer.certPem, keyPem: signer.keyPem } }), now: () => NOW_MS });
}

function header(call: SignedCall | undefined, name: string): unknown {
  return call?.cose.protectedHeader.get(name);
}

describe('GovernanceClient signed calls', () => {
  it('creates a proposal from an object: COSE proposal signed over its JSON, created_at from the clock in seconds', async (t) => {
    const { server, signed } = await startGovServer(t);
    const body = { actions: [{ name: 'set_constitution', args: { constitution: 'x' } }] };
    const result = await governance(t, server).createProposal(body);
    assert.deepEqual(result, proposal());
    const call = signed[0];
    assert.equal(call?.request.path, `/gov/members/proposals:create?api-version=${GOV_API_VERSION}`);
    assert.equal(header(call, 'ccf.gov.msg.type'), 'proposal');
    assert.equal(header(call, 'ccf.gov.msg.created_at'), NOW_SECONDS);
    assert.equal(header(call, 'ccf.gov.msg.proposal_id'), undefined);
    assert.deepEqual(JSON.parse(fromUtf8(call?.cose.payload ?? new Uint8Array())), body);
  });

  it('signs proposal JSON text exactly as given, and a created_at passed in', async (t) => {
    const { server, signed } = await startGovServer(t);
    const text = '{ "actions": [ ] }\n';
    await governance(t, server).createProposal(text, { createdAt: 42 });
    assert.equal(fromUtf8(signed[0]?.cose.payload ?? new Uint8Array()), text);
    assert.equal(header(signed[0], 'ccf.gov.msg.created_at'), 42);
  });

  it('refuses proposal text that is not JSON before sending anything', async (t) => {
    const { server } = await startGovServer(t);
    await assert.rejects(governance(t, server).createProposal('{actions'), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument');
    assert.equal(server.requests.length, 0);
  });

  it("submits a ballot to the member's own ballot route, signed as 'ballot' with the proposal ID", async (t) => {
    const { server, signed } = await startGovServer(t);
    const ballot = 'export function vote(proposal, proposerId) { return true; }';
    const result = await governance(t, server).submitBallot(PROPOSAL_ID, ballot);
    assert.equal(result.proposalState, 'Accepted');
    assert.deepEqual(result.finalVotes, { [member.id]: true });
    const call = signed[0];
    assert.equal(call?.request.url.pathname, `/gov/members/proposals/${PROPOSAL_ID}/ballots/${member.id}:submit`);
    assert.equal(header(call, 'ccf.gov.msg.proposal_id'), PROPOSAL_ID);
    assert.deepEqual(JSON.parse(fromUtf8(call?.cose.payload ?? new Uint8Array())), { ballot });
  });

  it("withdraws with an empty body signed as 'withdrawal', and returns undefined for 204", async (t) => {
    const { server, signed } = await startGovServer(t);
    const gov = governance(t, server);
    assert.equal((await gov.withdrawProposal(PROPOSAL_ID))?.proposalState, 'Withdrawn');
    assert.equal(header(signed[0], 'ccf.gov.msg.type'), 'withdrawal');
    assert.equal(header(signed[0], 'ccf.gov.msg.proposal_id'), PROPOSAL_ID);
    assert.equal(signed[0]?.cose.payload?.length, 0);
    const unknown = await startServer(service, (_request, res) => reply(res, 204));
    t.after(() => unknown.close());
    const client = new CocoClient({ url: unknown.url, caCertPem: service.certPem });
    t.after(() => client.close());
    const result = await new GovernanceClient(client, { member: { certPem: member.certPem, keyPem: member.keyPem } }).withdrawProposal(PROPOSAL_ID);
    assert.equal(result, undefined);
  });

  it("refuses at construction a member key that is not the member certificate's, or a certificate that is none", (t) => {
    const client = new CocoClient({ url: 'https://127.0.0.1:1', caCertPem: service.certPem });
    t.after(() => client.close());
    const refused = (code: string, mentions: RegExp) => (error: unknown) => error instanceof CocoError && error.code === code && mentions.test(error.message);
    assert.throws(() => new GovernanceClient(client, { member: { certPem: member.certPem, keyPem: otherMember.keyPem } }), refused('InvalidKey', /member\.keyPem is not the private key of member\.certPem/));
    assert.throws(() => new GovernanceClient(client, { member: { certPem: 'not a certificate', keyPem: member.keyPem } }), refused('InvalidCertificate', /member\.certPem/));
    const encrypted = createPrivateKey(member.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'locked' }) as string;
    assert.throws(() => new GovernanceClient(client, { member: { certPem: member.certPem, keyPem: encrypted } }), refused('InvalidKey', /member\.keyPem is an encrypted private key/));
  });

  it("updates the state digest ('state_digest', empty body) and acks it ('ack', {stateDigest})", async (t) => {
    const { server, signed } = await startGovServer(t);
    const gov = governance(t, server, otherMember);
    const digest = await gov.updateStateDigest();
    assert.deepEqual(digest, { memberId: otherMember.id, stateDigest: STATE_DIGEST });
    await gov.ack(digest.stateDigest);
    assert.deepEqual(signed.map((call) => call.request.url.pathname), [
      `/gov/members/state-digests/${otherMember.id}:update`,
      `/gov/members/state-digests/${otherMember.id}:ack`,
    ]);
    assert.deepEqual(signed.map((call) => header(call, 'ccf.gov.msg.type')), ['state_digest', 'ack']);
    assert.equal(signed[0]?.cose.payload?.length, 0);
    assert.deepEqual(JSON.parse(fromUtf8(signed[1]?.cose.payload ?? new Uint8Array())), { stateDigest: STATE_DIGEST });
  });

  it("surfaces the service's refusal as CocoRequestError with CCF's code", async (t) => {
    const { server } = await startGovServer(t);
    await assert.rejects(governance(t, server).ack('00'.repeat(32)), (error: unknown) => {
      assert.ok(error instanceof CocoRequestError);
      assert.equal(error.code, 'StateDigestMismatch');
      assert.equal(error.status, 400);
      return true;
    });
  });

  it('sends every signed call with Content-Type application/cose and the api-version', async (t) => {
    const { server, signed } = await startGovServer(t);
    const gov = governance(t, server);
    await gov.createProposal({ actions: [] });
    await gov.submitBallot(PROPOSAL_ID, 'export function vote() { return false; }');
    await gov.withdrawProposal(PROPOSAL_ID);
    await gov.updateStateDigest();
    await gov.ack(STATE_DIGEST);
    assert.equal(signed.length, 5);
    for (const call of signed) {
      assert.equal(call.request.method, 'POST');
      assert.equal(call.request.headers['content-type'], 'application/cose');
      assert.equal(call.request.url.searchParams.get('api-version'), GOV_API_VERSION);
    }
  });

  it('needs a member for signed calls and says so', async (t) => {
    const { server } = await startGovServer(t);
    const gov = governance(t, server, null);
    assert.equal(gov.memberId, undefined);
    for (const call of [() => gov.createProposal({ actions: [] }), () => gov.updateStateDigest(), () => gov.getStateDigest()]) {
      await assert.rejects(call(), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument' && /member/.test(error.message));
    }
    assert.equal(server.requests.length, 0);
  });
});

describe('GovernanceClient with a member key it cannot read', () => {
  /** An HSM holding `identity`'s key: signs the ToBeSigned bytes it is given, outside the SDK. */
  function hsm(identity: Identity, asked: SignatureRequest[] = []): ExternalSigner {
    return {
      certPem: identity.certPem,
      sign: async (request) => {
        asked.push(request);
        return nodeSign(request.algorithm === 'ES256' ? 'sha256' : 'sha384', request.toBeSigned, { key: createPrivateKey(identity.keyPem), dsaEncoding: 'der' });
      },
    };
  }

  it('signs every call through an ExternalSigner, which the frontend accepts as signed by that member', async (t) => {
    const { server, signed } = await startGovServer(t);
    const asked: SignatureRequest[] = [];
    const client = new CocoClient({ url: server.url, caCertPem: service.certPem });
    t.after(() => client.close());
    const gov = new GovernanceClient(client, { member: hsm(otherMember, asked), now: () => NOW_MS });
    assert.equal(gov.memberId, otherMember.id);
    await gov.createProposal({ actions: [] });
    await gov.submitBallot(PROPOSAL_ID, 'export function vote() { return true; }');
    await gov.withdrawProposal(PROPOSAL_ID);
    await gov.ack((await gov.updateStateDigest()).stateDigest);
    assert.deepEqual(signed.map((call) => header(call, 'ccf.gov.msg.type')), ['proposal', 'ballot', 'withdrawal', 'state_digest', 'ack']);
    assert.equal(signed[1]?.request.url.pathname, `/gov/members/proposals/${PROPOSAL_ID}/ballots/${otherMember.id}:submit`);
    assert.deepEqual(asked.map((request) => request.algorithm), ['ES256', 'ES256', 'ES256', 'ES256', 'ES256']);
    assert.ok(signed.every((call) => verifyCoseSign1(call.cose, otherMember.certPem)));
  });

  it('refuses at construction an external signer whose certificate is none, or whose key CCF does not take', async (t) => {
    const edwards = await createIdentity('edwards', 'Ed25519');
    const client = new CocoClient({ url: 'https://127.0.0.1:1', caCertPem: service.certPem });
    t.after(() => client.close());
    const refused = (code: string, mentions: RegExp) => (error: unknown) => error instanceof CocoError && error.code === code && mentions.test(error.message);
    const sign = async () => new Uint8Array();
    assert.throws(() => new GovernanceClient(client, { member: { certPem: 'not a certificate', sign } }), refused('InvalidCertificate', /member\.certPem/));
    assert.throws(() => new GovernanceClient(client, { member: { certPem: edwards.certPem, sign } }), refused('InvalidKey', /only ECDSA/));
  });

  it('submits envelopes signed beforehand to the route their headers name, as no member', async (t) => {
    const { server, signed } = await startGovServer(t);
    const gov = governance(t, server, null);
    const envelope = (msgType: GovernanceMsgType, content: Uint8Array = new Uint8Array(), proposalId?: string) =>
      signGovernanceRequest({ content, msgType, createdAt: NOW_SECONDS, ...(proposalId !== undefined && { proposalId }), signerCertPem: otherMember.certPem, signerKeyPem: otherMember.keyPem });
    const responses = [
      await gov.submitSigned(envelope('proposal', utf8('{"actions": []}'))),
      await gov.submitSigned(envelope('ballot', utf8(JSON.stringify({ ballot: 'export function vote() { return true; }' })), PROPOSAL_ID)),
      await gov.submitSigned(envelope('withdrawal', new Uint8Array(), PROPOSAL_ID)),
      await gov.submitSigned(envelope('state_digest')),
      await gov.submitSigned(envelope('ack', utf8(JSON.stringify({ stateDigest: STATE_DIGEST })))),
    ];
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200, 200, 204]);
    assert.deepEqual(signed.map((call) => call.request.url.pathname), [
      '/gov/members/proposals:create',
      `/gov/members/proposals/${PROPOSAL_ID}/ballots/${otherMember.id}:submit`,
      `/gov/members/proposals/${PROPOSAL_ID}:withdraw`,
      `/gov/members/state-digests/${otherMember.id}:update`,
      `/gov/members/state-digests/${otherMember.id}:ack`,
    ]);
    const refused = (mentions: RegExp) => (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument' && mentions.test(error.message);
    await assert.rejects(gov.submitSigned(utf8('{"actions": []}')), refused(/not a COSE_Sign1 envelope/));
    const untyped = signUserRequest({ content: new Uint8Array(), msgType: 'write', createdAt: NOW_SECONDS, signerCertPem: member.certPem, signerKeyPem: member.keyPem });
    await assert.rejects(gov.submitSigned(untyped), refused(/ccf\.gov\.msg\.type is undefined, not a governance message type/));
    assert.equal(server.requests.length, 5, 'nothing sent for those');
  });
});

describe('GovernanceClient reads', () => {
  it('reads proposals, ballots, state digests, service, members, users, nodes and transactions with the api-version', async (t) => {
    const { server } = await startGovServer(t);
    const gov = governance(t, server);
    assert.deepEqual(await gov.listProposals(), [proposal()]);
    assert.deepEqual(await gov.getProposal(PROPOSAL_ID), proposal());
    assert.deepEqual(await gov.getProposalActions(PROPOSAL_ID), { actions: [{ name: 'set_constitution', args: {} }] });
    assert.equal(await gov.getBallot(PROPOSAL_ID), 'export function vote() { return true; }');
    assert.deepEqual(await gov.getStateDigest(), { memberId: member.id, stateDigest: STATE_DIGEST });
    assert.equal((await gov.getServiceInfo()).configuration.recentCoseProposalsWindowSize, 100);
    assert.equal(await gov.getConstitution(), 'export function validate() {}');
    assert.equal((await gov.getJavascriptApp()).endpoints['/log']?.GET?.jsFunction, 'get');
    assert.deepEqual((await gov.listMembers()).map((m) => m.memberId), [member.id]);
    assert.equal((await gov.getMember(otherMember.id)).memberId, otherMember.id);
    assert.equal((await gov.listUsers()).length, 1);
    assert.equal((await gov.getUser('u1')).userId, 'u1');
    assert.deepEqual((await gov.listNodes()).map((n) => n.nodeId), ['n1']);
    assert.equal((await gov.getNode('n1')).status, 'Trusted');
    assert.equal(await gov.getTransactionStatus({ view: 2, seqno: 15 }), 'Committed');
    assert.equal(await gov.getTransactionStatus('3.4'), 'Committed');
    assert.ok(server.requests.every((request) => request.method === 'GET' && request.url.searchParams.get('api-version') === GOV_API_VERSION));
    assert.equal(server.requests.at(-2)?.url.pathname, '/gov/service/transactions/2.15');
  });

  it('follows nextLink through every page of a list', async (t) => {
    const server = await startServer(service, (request, res) => {
      const page = Number(request.url.searchParams.get('page') ?? '0');
      const nextLink = page < 2 ? { nextLink: `/gov/service/users?api-version=${GOV_API_VERSION}&page=${page + 1}` } : {};
      reply(res, 200, { value: [{ userId: `user${page}`, certificate: 'pem' }], ...nextLink });
    });
    t.after(() => server.close());
    const users = await governance(t, server).listUsers();
    assert.deepEqual(users.map((user) => user.userId), ['user0', 'user1', 'user2']);
    assert.deepEqual(server.requests.map((request) => request.url.searchParams.get('page')), [null, '1', '2']);
  });

  it('rejects a list page without a value array as InvalidResponse', async (t) => {
    const server = await startServer(service, (_request, res) => reply(res, 200, { members: [] }));
    t.after(() => server.close());
    await assert.rejects(governance(t, server).listMembers(), (error: unknown) => error instanceof CocoError && error.code === 'InvalidResponse');
  });

  it("reports CCF's error for an unknown proposal, and refuses empty IDs and malformed TxIDs", async (t) => {
    const server = await startServer(service, (_request, res) => ccfError(res, 404, 'ProposalNotFound', 'no such proposal'));
    t.after(() => server.close());
    const gov = governance(t, server);
    await assert.rejects(gov.getProposal(PROPOSAL_ID), (error: unknown) => error instanceof CocoRequestError && error.code === 'ProposalNotFound' && error.status === 404);
    await assert.rejects(gov.getProposal(''), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument');
    await assert.rejects(gov.getTransactionStatus('2-15'), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument');
    assert.equal(server.requests.length, 1);
  });
});

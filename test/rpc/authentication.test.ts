import assert from 'node:assert/strict';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import test from 'node:test';
import { signUserRequest } from '../../src/client/cose-signing.js';
import { concatBytes, toBase64, utf8 } from '../../src/crypto/bytes.js';
import { COSE_ALG_ES256, COSE_ALG_ES384, COSE_HEADER_ALG, COSE_HEADER_KID, encodeCbor, encodeCoseSign1, sigStructure, signCoseSign1, type CoseHeader } from '../../src/crypto/cose-sign1.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { pemToDer } from '../../src/crypto/pem.js';
import { generateKeyPair, publicKeyDer, sign as signBytes, type CurveName } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate, parseCertificate } from '../../src/crypto/x509.js';
import { CocoError } from '../../src/errors.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { Store } from '../../src/kv/store.js';
import { GOV_MSG_CREATED_AT, GOV_MSG_TYPE } from '../../src/governance/member-cose-identity.js';
import { authenticate, type AuthnPolicy } from '../../src/rpc/authentication.js';
import { asRpcError, AuthenticationError, errorBody } from '../../src/rpc/rpc-error.js';
import type { RpcRequest } from '../../src/rpc/rpc-server.js';
import { realChunks } from '../support/real-ledgers.js';

const NOW = 1_700_000_000;
const DAY_SECONDS = 86_400;

/** An identity whose certificate is valid for one day from `validFromSeconds` (by default, since an hour before NOW). */
function identity(name: string, validFromSeconds = NOW - 3600, curve: CurveName = 'P-384') {
  const keyPair = generateKeyPair(curve);
  const certPem = createSelfSignedCertificate({ subjectCn: name, keyPair, validFrom: new Date(validFromSeconds * 1000), validityDays: 1, isCa: false });
  return { keyPair, certPem, id: certificateId(certPem) };
}

const user = identity('user');
const p521User = identity('P-521 user', NOW - 3600, 'P-521');
const ed25519Member = identity('Ed25519 member', NOW - 3600, 'Ed25519');
const ed25519User = identity('Ed25519 user', NOW - 3600, 'Ed25519');
const member = identity('member');
const stranger = identity('stranger');
const expiredUser = identity('expired user', NOW - 2 * DAY_SECONDS);
const futureUser = identity('future user', NOW + 3600);
const expiredMember = identity('expired member', NOW - 2 * DAY_SECONDS);
const acceptedMember = identity('accepted member');
const removedMember = identity('removed member');
const jwtKey = generateKeyPair('P-256');

const store = new Store();
const setup = store.beginTransaction();
setup.map(Tables.usersCerts).set(utf8(user.id), utf8(user.certPem));
setup.map(Tables.usersCerts).set(utf8(p521User.id), utf8(p521User.certPem));
setup.map(Tables.usersCerts).set(utf8(ed25519User.id), utf8(ed25519User.certPem));
setup.map(Tables.membersCerts).set(utf8(ed25519Member.id), utf8(ed25519Member.certPem));
setup.map(Tables.membersInfo).set(utf8(ed25519Member.id), encodeJson({ status: 'Active' }));
setup.map(Tables.usersInfo).set(utf8(user.id), encodeJson({ user_data: { role: 'clerk' } }));
setup.map(Tables.membersCerts).set(utf8(member.id), utf8(member.certPem));
for (const registered of [expiredUser, futureUser]) setup.map(Tables.usersCerts).set(utf8(registered.id), utf8(registered.certPem));
setup.map(Tables.membersCerts).set(utf8(expiredMember.id), utf8(expiredMember.certPem));
setup.map(Tables.membersInfo).set(utf8(member.id), encodeJson({ status: 'Active', member_data: { org: 'A' } }));
const jwtPublicKey = toBase64(publicKeyDer(jwtKey.publicKeyPem));
setup.map(Tables.jwtPublicSigningKeysMetadata).set(utf8('kid1'), encodeJson([{ public_key: jwtPublicKey, issuer: 'https://issuer.example' }]));
// Keys with CCF's issuer constraints: a plain one, and a Microsoft Entra multi-tenant one.
setup.map(Tables.jwtPublicSigningKeysMetadata).set(utf8('constrained'), encodeJson([{ public_key: jwtPublicKey, issuer: 'https://issuer.example', constraint: 'https://issuer.example/tenant' }]));
setup.map(Tables.jwtPublicSigningKeysMetadata).set(utf8('entra'), encodeJson([{ public_key: jwtPublicKey, issuer: 'https://login.microsoftonline.com/common/v2.0', constraint: 'https://login.microsoftonline.com/{tenantid}/v2.0' }]));
// Keys only in CCF's legacy tables (a ledger written before `_v2`): CCF's {cert} shape, the
// {public_key} shape Coco wrote there, and the older pair of raw certificate and issuer tables.
const jwtKeyCertDer = pemToDer(createSelfSignedCertificate({ subjectCn: 'jwt', keyPair: jwtKey, validFrom: new Date((NOW - 3600) * 1000), validityDays: 1, isCa: false }));
setup.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('legacy-cert'), encodeJson([{ cert: toBase64(jwtKeyCertDer), issuer: 'https://legacy.example' }]));
setup.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('legacy-coco'), encodeJson([{ public_key: jwtPublicKey, issuer: 'https://legacy.example', constraint: 'https://legacy.example/t' }]));
setup.map(Tables.jwtLegacyPublicSigningKey).set(utf8('legacy-raw'), jwtKeyCertDer);
setup.map(Tables.jwtLegacyPublicSigningKeyIssuer).set(utf8('legacy-raw'), utf8('https://raw.example'));
// A kid in both: the current table wins, as in CCF.
setup.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('kid1'), encodeJson([{ public_key: toBase64(publicKeyDer(generateKeyPair('P-256').publicKeyPem)), issuer: 'https://stale.example' }]));
// A member that set_member added but that has not acked yet (Accepted, not Active), with no data.
setup.map(Tables.membersCerts).set(utf8(acceptedMember.id), utf8(acceptedMember.certPem));
setup.map(Tables.membersInfo).set(utf8(acceptedMember.id), encodeJson({ status: 'Accepted' }));
setup.map(Tables.membersCerts).set(utf8(removedMember.id), utf8(removedMember.certPem));
setup.map(Tables.membersInfo).set(utf8(removedMember.id), encodeJson({ status: 'Active', member_data: { org: 'B' } }));
store.commit(setup, 1n);
// remove_member, as the constitution applies it: the member's certificate and info are gone.
const removal = store.beginTransaction();
removal.map(Tables.membersCerts).delete(utf8(removedMember.id));
removal.map(Tables.membersInfo).delete(utf8(removedMember.id));
store.commit(removal, 2n);

function request(options: { cert?: typeof user; headers?: Record<string, string>; body?: Uint8Array } = {}): RpcRequest {
  const der = options.cert && pemToDer(options.cert.certPem);
  return {
    frontend: 'app',
    method: 'POST',
    path: '/x',
    pathname: '/app/x',
    params: {},
    query: new URLSearchParams(),
    rawQuery: '',
    headers: options.headers ?? {},
    body: options.body ?? new Uint8Array(),
    clientCert: options.cert && der ? { der, pem: options.cert.certPem, id: options.cert.id, idKey: utf8(options.cert.id) } : undefined,
    matched: () => {}, session: { sentToPrimary: false },
  };
}

function authn(rpcRequest: RpcRequest, policies: AuthnPolicy[]) {
  return authenticate({ tx: store.beginTransaction(), request: rpcRequest, nowSeconds: NOW }, policies);
}

/** The base64url character that differs from `c` only in its lowest bit: the same bytes where that bit is a spare one (an ES256 signature's last character). */
function sameBytesOtherSpelling(c: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return alphabet[alphabet.indexOf(c) ^ 1]!;
}

/** A signed token; a header or payload given as bytes is sent as they are. */
function jwt(payload: Record<string, unknown> | Uint8Array, header: Record<string, unknown> | Uint8Array = { alg: 'ES256', kid: 'kid1' }, key = jwtKey, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): string {
  const part = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(JSON.stringify(value))).toString('base64url');
  const signed = `${part(header)}.${part(payload)}`;
  const signature = nodeSign('sha256', Buffer.from(signed), { key: createPrivateKey(key.privateKeyPem), dsaEncoding });
  return `${signed}.${signature.toString('base64url')}`;
}

const COSE_HEADERS = { 'content-type': 'application/cose' };

/** CCF's refusal: a fixed message, and the policies' reasons in its details (one of them `reason`). */
const rejected = (reason: RegExp) => (error: unknown) =>
  error instanceof AuthenticationError && error.code === 'InvalidAuthenticationInfo' && error.message === 'Invalid authentication credentials.' && error.details.some((detail) => reason.test(detail.message));

test('user_cert and member_cert give CCF callers with their data; others are refused', () => {
  assert.deepEqual(authn(request({ cert: user }), ['user_cert']), { policy: 'user_cert', id: user.id, data: { role: 'clerk' }, cert: user.certPem });
  assert.deepEqual(authn(request({ cert: member }), ['member_cert']), { policy: 'member_cert', id: member.id, data: { org: 'A' }, cert: member.certPem });
  assert.throws(() => authn(request({ cert: member }), ['user_cert']), rejected(/^Could not find matching user certificate$/));
  assert.throws(() => authn(request({ cert: stranger }), ['member_cert']), rejected(/^Could not find matching member certificate$/));
  assert.throws(() => authn(request(), ['user_cert']), rejected(/^No caller user certificate$/));
  assert.throws(() => authn(request(), ['member_cert']), rejected(/^No caller member certificate$/));
  assert.throws(() => authn(request(), ['any_cert']), rejected(/^No caller certificate$/));
  assert.deepEqual(authn(request({ cert: stranger }), ['any_cert']), { policy: 'any_cert', cert: stranger.certPem });
  // A certificate policy's 401 offers no other way in: no WWW-Authenticate challenge (COSE's is for COSE policies).
  for (const cert of [undefined, stranger]) {
    try {
      authn(request(cert === undefined ? {} : { cert }), ['user_cert']);
      assert.fail('refused');
    } catch (error) {
      const answer = asRpcError(error);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers?.['www-authenticate'], undefined);
    }
  }
});

test('user_cert and any_cert refuse a certificate outside its validity period with CCF\'s reasons; member_cert, as in CCF, does not check', () => {
  const notAfter = parseCertificate(expiredUser.certPem).notAfter.getTime() / 1000;
  assert.throws(() => authn(request({ cert: expiredUser }), ['user_cert']), rejected(new RegExp(`^Current time ${NOW} is after certificate's Not After validity period ${notAfter}$`)));
  assert.throws(() => authn(request({ cert: futureUser }), ['user_cert']), rejected(new RegExp(`^Current time ${NOW} is before certificate's Not Before validity period ${NOW + 3600}$`)));
  assert.throws(() => authn(request({ cert: expiredUser }), ['any_cert']), rejected(/after certificate's Not After/));
  assert.equal(authn(request({ cert: expiredMember }), ['member_cert'])?.['id'], expiredMember.id);
  // The same connection's certificate is judged again at each request's time.
  const later = request({ cert: user });
  assert.equal(authn(later, ['user_cert'])?.['id'], user.id);
  assert.throws(() => authenticate({ tx: store.beginTransaction(), request: later, nowSeconds: NOW + DAY_SECONDS }, ['user_cert']), rejected(/after certificate's Not After/));
});

test('no_auth, no policies, and the first matching policy of a list', () => {
  assert.deepEqual(authn(request(), ['no_auth']), { policy: 'no_auth' });
  assert.equal(authn(request(), []), null);
  assert.equal((authn(request({ cert: member }), ['user_cert', 'member_cert']) as { policy: string }).policy, 'member_cert');
});

test("all_of runs its policies in name order, as CCF's map of them does: the caller lists them so, and a refusal names the combination and the part that refused", () => {
  const token = `Bearer ${jwt({ iss: 'https://issuer.example', sub: 'alice', exp: NOW + 60 })}`;
  const both = authn(request({ cert: user, headers: { authorization: token } }), [{ all_of: ['user_cert', 'jwt'] }]) as Record<string, unknown>;
  assert.deepEqual(both.policy, ['jwt', 'user_cert']);
  assert.deepEqual([(both.jwt as { policy: string }).policy, (both.user_cert as { policy: string }).policy], ['jwt', 'user_cert']);
  // Without a token, jwt (first by name) refuses, although user_cert is listed first and would accept.
  assert.throws(() => authn(request({ cert: user }), [{ all_of: ['user_cert', 'jwt'] }]), (error: unknown) => {
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.details.length, 1);
    assert.equal(error.details[0]!.auth_policy, 'jwt+user_cert');
    assert.match(error.details[0]!.message, /^jwt:/);
    assert.equal(asRpcError(error).headers['www-authenticate'], 'Bearer realm="JWT bearer token access", error="invalid_token"');
    return true;
  });
  assert.throws(() => authn(request({ headers: { authorization: token } }), [{ all_of: ['user_cert', 'jwt'] }]), (error: unknown) => error instanceof AuthenticationError && error.details[0]!.message.startsWith('user_cert:'));
});

test("an all_of that names one policy twice is the app's error, as CCF's AND policy refuses it: no request passes", () => {
  assert.throws(
    () => authn(request({ cert: user }), [{ all_of: ['user_cert', 'user_cert'] }]),
    (error: unknown) => error instanceof CocoError && !(error instanceof AuthenticationError) && error.message === 'AND authentication policy contains duplicate policies identified by user_cert',
  );
});

test("an endpoint naming a policy that does not exist fails every request, as CCF's: even one another of its policies accepts", () => {
  const unknown = (error: unknown) => error instanceof CocoError && !(error instanceof AuthenticationError) && error.code === 'InternalError' && /^Unknown auth policy: user_crt\. .* fix the app/.test(error.message);
  for (const policies of [['user_cert', 'user_crt'], ['user_crt'], [{ all_of: ['user_cert', 'user_crt'] }], ['no_auth', { all_of: ['jwt', 'user_crt'] }]]) {
    assert.throws(() => authn(request({ cert: user }), policies), unknown, JSON.stringify(policies));
    assert.throws(() => authn(request(), policies), unknown, JSON.stringify(policies));
  }
  // A long name is shown cut, in the answer and the log line of every request.
  assert.throws(() => authn(request(), ['x'.repeat(100_000)]), (error: unknown) => error instanceof CocoError && error.message.startsWith(`Unknown auth policy: ${'x'.repeat(64)}.... The endpoint's`) && error.message.length < 400);
});

test('jwt checks the key, the signature, the required claims, the validity window and issuer constraints, as CCF does', () => {
  const valid = jwt({ iss: 'https://issuer.example', sub: 'alice', exp: NOW + 60 });
  const accepted = (payload: Record<string, unknown>, kid = 'kid1') => authn(request({ headers: { authorization: `Bearer ${jwt(payload, { alg: 'ES256', kid })}` } }), ['jwt']) as { jwt: { keyIssuer: string; payload: { sub: string } } };
  const caller = accepted({ iss: 'https://issuer.example', sub: 'alice', exp: NOW + 60 });
  assert.equal(caller.jwt.keyIssuer, 'https://issuer.example');
  assert.equal(caller.jwt.payload.sub, 'alice');
  // CCF's registered issuer is a name: without a constraint on the key, any iss is accepted.
  assert.equal(accepted({ iss: 'https://elsewhere.example', exp: NOW + 60 }).jwt.keyIssuer, 'https://issuer.example');
  assert.equal(accepted({ iss: 'https://issuer.example/tenant', exp: NOW + 60 }, 'constrained').jwt.keyIssuer, 'https://issuer.example');
  assert.equal(accepted({ iss: 'https://login.microsoftonline.com/t-42/v2.0', tid: 't-42', exp: NOW + 60 }, 'entra').jwt.keyIssuer, 'https://login.microsoftonline.com/common/v2.0');
  const cases: [string, RegExp][] = [
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60 }, { alg: 'ES256', kid: 'unknown' }), /^JWT signing key not found for kid unknown$/],
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60 }, { alg: 'ES256', kid: 'kid1' }, generateKeyPair('P-256')), /^Signature verification failed$/],
    [jwt({ iss: 'https://issuer.example' }), /missing required field exp/],
    [jwt({ exp: NOW + 60 }), /missing required field iss/],
    [jwt({ iss: 'https://issuer.example', exp: String(NOW + 60) }), /^the JWT payload's exp must be a number \(seconds since the epoch\)$/],
    [jwt({ iss: 42, exp: NOW + 60 }), /^the JWT payload's iss must be a string$/],
    [jwt({ iss: 'https://issuer.example', exp: NOW - 1 }), new RegExp(`^Current time ${NOW} is after token's Expiration Time \\(exp\\) claim ${NOW - 1}$`)],
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60, nbf: NOW + 30 }), new RegExp(`^Current time ${NOW} is before token's Not Before \\(nbf\\) claim ${NOW + 30}$`)],
    [jwt({ iss: 'https://issuer.example/other', exp: NOW + 60 }, { alg: 'ES256', kid: 'constrained' }), /^Kid constrained failed issuer constraint validation https:\/\/issuer\.example\/tenant$/],
    [jwt({ iss: 'https://issuer.example/tenant', tid: 't', exp: NOW + 60 }, { alg: 'ES256', kid: 'constrained' }), /failed issuer constraint validation/],
    [jwt({ iss: 'https://login.microsoftonline.com/t-42/v2.0', tid: 't-43', exp: NOW + 60 }, { alg: 'ES256', kid: 'entra' }), /failed issuer constraint validation/],
    [jwt({ iss: 'https://login.microsoftonline.com/t-42/v2.0', exp: NOW + 60 }, { alg: 'ES256', kid: 'entra' }), /failed issuer constraint validation/],
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60 }, { alg: 'none', kid: 'kid1' }), /algorithm "none" is not supported/],
    ['not.a.jwt.at.all', /^Malformed JWT: must contain exactly 3 parts$/],
    // One token, one spelling: a signature padded, with junk after it, or in standard base64 is refused.
    ...['==', '!!'].map((suffix) => [`${valid}${suffix}`, /^Malformed JWT: each part must be unpadded base64url, with the unused bits of its last character zero$/] as [string, RegExp]),
    [`${valid.slice(0, valid.lastIndexOf('.'))}.${Buffer.from(valid.slice(valid.lastIndexOf('.') + 1), 'base64url').toString('base64').replace(/=+$/, '')}+/`, /unpadded base64url/],
    // The header's alg must be the key's: an ECDSA signature (DER) that verifies with kid1's EC key, under alg RS256.
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60 }, { alg: 'RS256', kid: 'kid1' }, jwtKey, 'der'), /^Signature verification failed$/],
    // CCF's words: its JSON parser refuses what is not JSON, bytes that are not UTF-8 included (never read as U+FFFD).
    [`${Buffer.from('{"alg":').toString('base64url')}.${valid.split('.')[1]}.${valid.split('.')[2]}`, /^JWT header or payload is not valid JSON: the header does not parse/],
    [jwt(Buffer.concat([Buffer.from(`{"iss":"https://issuer.example","exp":${NOW + 60},"name":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), /^JWT header or payload is not valid JSON: the payload is not UTF-8 text$/],
    [jwt({ iss: 'https://issuer.example', exp: NOW + 60 }, Buffer.concat([Buffer.from('{"alg":"ES256","kid":"kid1","x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])), /^JWT header or payload is not valid JSON: the header is not UTF-8 text$/],
    [jwt(Buffer.from('[1]')), /^JWT header or payload is not an object$/],
    // A time past the largest double parses to Infinity and would never expire; CCF's are unsigned integers.
    [jwt(Buffer.from('{"iss":"https://issuer.example","exp":1e400}')), /^the JWT claim exp is not a time in seconds since the epoch/],
    [jwt({ iss: 'https://issuer.example', exp: -1 }), /^the JWT claim exp is not a time in seconds since the epoch/],
    [jwt(Buffer.from(`{"iss":"https://issuer.example","exp":${NOW + 60},"nbf":-1e400}`)), /^the JWT claim nbf is not a time in seconds since the epoch/],
    // The last character of a part may carry spare bits that decoding ignores: one token, one spelling.
    [`${valid.slice(0, -1)}${sameBytesOtherSpelling(valid.at(-1)!)}`, /^Malformed JWT: each part must be unpadded base64url, with the unused bits of its last character zero$/],
  ];
  for (const [token, message] of cases) {
    assert.throws(() => authn(request({ headers: { authorization: `Bearer ${token}` } }), ['jwt']), (error: unknown) => rejected(message)(error) && (error as AuthenticationError).challenge?.startsWith('Bearer realm=') === true, token.slice(0, 30));
  }
  const bearer = (authorization: string | undefined) => request({ headers: authorization === undefined ? {} : { authorization } });
  assert.throws(() => authn(bearer(undefined), ['jwt']), rejected(/^Missing authorization header$/));
  assert.throws(() => authn(bearer('Bearer'), ['jwt']), rejected(/^Authorization header only contains one field$/));
  assert.throws(() => authn(bearer(`Basic ${valid}`), ['jwt']), rejected(/^Authorization header does not have Bearer scheme$/));
});

test("jwt reads the keys of CCF's current table, public_signing_keys_metadata_v2, and falls back to its legacy tables for a kid it does not hold", () => {
  assert.equal(Tables.jwtPublicSigningKeysMetadata, 'public:ccf.gov.jwt.public_signing_keys_metadata_v2');
  const issuerOf = (kid: string, iss = 'https://legacy.example/t') => (authn(request({ headers: { authorization: `Bearer ${jwt({ iss, exp: NOW + 60 }, { alg: 'ES256', kid })}` } }), ['jwt']) as { jwt: { keyIssuer: string } }).jwt.keyIssuer;
  assert.equal(issuerOf('kid1'), 'https://issuer.example');
  assert.equal(issuerOf('legacy-cert'), 'https://legacy.example');
  assert.equal(issuerOf('legacy-coco'), 'https://legacy.example');
  assert.equal(issuerOf('legacy-raw'), 'https://raw.example');
  // A legacy key's issuer constraint still holds.
  assert.throws(() => issuerOf('legacy-coco', 'https://elsewhere.example'), rejected(/failed issuer constraint validation/));
});

test("jwt finds the keys a real CCF ledger stored: a token under one of genesis-14's kids reaches the signature check", () => {
  const realStore = new Store();
  const tx = realStore.beginTransaction();
  for (const chunk of realChunks('genesis-14')) {
    for (const entry of chunk.decoded.entries) {
      for (const map of entry.publicMaps.filter((m) => m.name === Tables.jwtPublicSigningKeysMetadata)) for (const { key, value } of map.writes) tx.map(map.name).set(key, value);
    }
  }
  realStore.commit(tx, 1n);
  const token = jwt({ iss: 'https://login.microsoftonline.com/t/v2.0', tid: 't', exp: NOW + 60 }, { alg: 'RS256', kid: 'PDRf_Bs8CkDdi7av6hKLwRnNHmk' }, generateKeyPair('P-256'), 'der');
  assert.throws(() => authenticate({ tx: realStore.beginTransaction(), request: request({ headers: { authorization: `Bearer ${token}` } }), nowSeconds: NOW }, ['jwt']), rejected(/^Signature verification failed$/));
});

test('user_cose_sign1 verifies the body with the registered user\'s key and hands over its content', () => {
  const body = signUserRequest({ content: utf8('{"hello": 1}'), msgType: 'write', createdAt: NOW, signerCertPem: user.certPem, signerKeyPem: user.keyPair.privateKeyPem });
  const headers = { 'content-type': 'application/cose' };
  const caller = authn(request({ body, headers }), ['user_cose_sign1']) as { id: string; cose: { content: Uint8Array } };
  assert.equal(caller.id, user.id);
  assert.deepEqual(caller.cose.content, utf8('{"hello": 1}'));
  const byStranger = signUserRequest({ content: utf8('{}'), msgType: 'write', createdAt: NOW, signerCertPem: stranger.certPem, signerKeyPem: stranger.keyPair.privateKeyPem });
  assert.throws(() => authn(request({ body: byStranger, headers }), ['user_cose_sign1']), rejected(/^Signer is not a known user$/));
  const tampered = body.slice();
  tampered[tampered.length - 5]! ^= 1;
  assert.throws(() => authn(request({ body: tampered, headers }), ['user_cose_sign1']), rejected(/^Failed to validate COSE Sign1$/));
  assert.throws(() => authn(request({ body, headers: {} }), ['user_cose_sign1']), rejected(/^Missing content-type header$/));
  assert.throws(() => authn(request({ body, headers: { 'content-type': 'application/json' } }), ['user_cose_sign1']), rejected(/^Content type is not set to application\/cose$/));
});

test('user_cose_sign1 takes every ECDSA curve CCF does: a P-521 user signs with ES512', () => {
  const body = signUserRequest({ content: utf8('{}'), msgType: 'write', createdAt: NOW, signerCertPem: p521User.certPem, signerKeyPem: p521User.keyPair.privateKeyPem });
  assert.equal(authn(request({ body, headers: COSE_HEADERS }), ['user_cose_sign1'])?.['id'], p521User.id);
});

/**
 * A user-signed body built by hand, to carry what the client SDK would not sign: `alg` and `key` as
 * given, kid = the user's ID, and CCF's user headers.
 */
function userSigned(options: { alg: number; detached?: boolean; untagged?: boolean; headers?: [number | string, unknown][] }): Uint8Array {
  const headers = options.headers ?? [['ccf.msg.type', 'write'], ['ccf.msg.created_at', NOW]];
  const protectedHeader = new Map<number | string, unknown>([[COSE_HEADER_ALG, options.alg], [COSE_HEADER_KID, utf8(user.id)], ...headers]);
  const protectedBytes = encodeCbor(protectedHeader);
  const payload = utf8('{}');
  const signature = signBytes(user.keyPair.privateKeyPem, sigStructure(protectedBytes, payload), 'ieee-p1363');
  if (options.untagged) return encodeCbor([protectedBytes, new Map(), payload, signature]);
  return encodeCoseSign1({ protectedBytes, protectedHeader, unprotectedHeader: new Map(), payload: options.detached ? undefined : payload, signature });
}

test('user_cose_sign1 refuses, as CCF does, an untagged COSE_Sign1, a created_at that is not a non-negative integer, and a msg type that is not a string', () => {
  const created = (value: unknown) => userSigned({ alg: COSE_ALG_ES384, headers: [['ccf.msg.created_at', value]] });
  // Both headers may be left out.
  assert.equal(authn(request({ body: userSigned({ alg: COSE_ALG_ES384, headers: [] }), headers: COSE_HEADERS }), ['user_cose_sign1'])?.['id'], user.id);
  const cases: [string, Uint8Array, RegExp][] = [
    ['untagged', userSigned({ alg: COSE_ALG_ES384, untagged: true }), /not tagged/],
    ['negative created_at', created(-1), /ccf\.msg\.created_at must be/],
    ['float created_at', created(1.5), /ccf\.msg\.created_at must be/],
    ['text created_at', created('1700000000'), /ccf\.msg\.created_at must be/],
    ['created_at past 2^63 - 1', created(2n ** 63n), /ccf\.msg\.created_at must be/],
    ['integer msg type', userSigned({ alg: COSE_ALG_ES384, headers: [['ccf.msg.type', 7]] }), /ccf\.msg\.type must be a text string/],
    // RFC 9052 §3.1, as CCF's t_cose: a critical parameter the verifier does not understand.
    ['crit naming a parameter it does not understand', userSigned({ alg: COSE_ALG_ES384, headers: [['x-must-understand', 1], [2, ['x-must-understand']]] }), /crit \(2\) lists the header parameter "x-must-understand"/],
  ];
  for (const [what, body, reason] of cases) {
    assert.throws(() => authn(request({ body, headers: COSE_HEADERS }), ['user_cose_sign1']), rejected(reason), what);
  }
});

test("user_cose_sign1 refuses with 401, as CCF does, an algorithm it does not take, one that is not the key's, and a detached payload, and lets the endpoint's next policy try", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['alg -37 (PS256)', userSigned({ alg: -37 }), /^Unsupported algorithm: -37$/],
    ['ES256 under a P-384 key', userSigned({ alg: COSE_ALG_ES256 }), /^Failed to validate COSE Sign1$/],
    ['a detached payload', userSigned({ alg: COSE_ALG_ES384, detached: true }), /^Failed to validate COSE Sign1$/],
    // RFC 9052 lets an empty byte string stand for an empty protected header: no alg.
    ['an empty protected header', encodeCoseSign1({ protectedBytes: new Uint8Array(), protectedHeader: new Map(), unprotectedHeader: new Map(), payload: utf8('{}'), signature: new Uint8Array(96) }), /^Missing algorithm in protected header$/],
  ];
  assert.equal(authn(request({ body: userSigned({ alg: COSE_ALG_ES384 }), headers: COSE_HEADERS }), ['user_cose_sign1'])?.['id'], user.id);
  for (const [what, body, reason] of cases) {
    assert.throws(() => authn(request({ body, headers: COSE_HEADERS }), ['user_cose_sign1']), (error: unknown) => rejected(reason)(error) && asRpcError(error).status === 401, what);
    assert.equal(authn(request({ cert: user, body, headers: COSE_HEADERS }), ['user_cose_sign1', 'user_cert'])?.['policy'], 'user_cert', what);
  }
});

/**
 * A member-signed request body as CCF's clients send it: kid = the signer's ID, created_at, and
 * whatever other protected headers are given; `key` signs (by default the signer's own key).
 */
function memberSigned(signer: typeof member, content: Uint8Array, headers: [string, unknown][] = [[GOV_MSG_CREATED_AT, NOW]], key = signer.keyPair.privateKeyPem): Uint8Array {
  const protectedHeader: CoseHeader = new Map<number | string, unknown>([[COSE_HEADER_KID, utf8(signer.id)], ...headers]);
  return signCoseSign1({ privateKey: key, protectedHeader, payload: content });
}


test('member_cose_sign1 gives CCF\'s caller: the member\'s ID, member_data, certificate and the signed content', () => {
  const body = memberSigned(member, utf8('{"hello": 1}'));
  assert.deepEqual(authn(request({ body, headers: COSE_HEADERS }), ['member_cose_sign1']), {
    policy: 'member_cose_sign1',
    id: member.id,
    data: { org: 'A' },
    cert: member.certPem,
    cose: { content: utf8('{"hello": 1}') },
  });
  // As CCF's policy for application endpoints: any ccf.gov.msg.type, or none, and any member
  // status (only the governance API requires an Active member); data is null when there is none.
  const withType = memberSigned(member, new Uint8Array(), [[GOV_MSG_TYPE, 'anything'], [GOV_MSG_CREATED_AT, NOW]]);
  assert.deepEqual(authn(request({ body: withType, headers: COSE_HEADERS }), ['member_cose_sign1'])?.['cose'], { content: new Uint8Array() });
  const byAccepted = authn(request({ body: memberSigned(acceptedMember, utf8('{}')), headers: COSE_HEADERS }), ['member_cose_sign1']);
  assert.deepEqual(byAccepted, { policy: 'member_cose_sign1', id: acceptedMember.id, data: null, cert: acceptedMember.certPem, cose: { content: utf8('{}') } });
});

test('member_cose_sign1 refuses with 401 and the COSE-SIGN1 challenge anything but a body signed by a registered member', () => {
  const body = memberSigned(member, utf8('{}'));
  const forged = body.slice();
  forged[forged.length - 5]! ^= 1;
  const cases: [string, RpcRequest, RegExp][] = [
    ['forged signature', request({ body: forged, headers: COSE_HEADERS }), new RegExp(`^the COSE signature does not verify with member ${member.id}'s certificate$`)],
    ['signed with another key under the member\'s kid', request({ body: memberSigned(member, utf8('{}'), undefined, generateKeyPair('P-384').privateKeyPem), headers: COSE_HEADERS }), /does not verify with member/],
    ['unknown signer', request({ body: memberSigned(stranger, utf8('{}')), headers: COSE_HEADERS }), /^Signer is not a known member$/],
    ['a user, not a member', request({ body: memberSigned(user, utf8('{}')), headers: COSE_HEADERS }), /^Signer is not a known member$/],
    ['a removed member', request({ body: memberSigned(removedMember, utf8('{}')), headers: COSE_HEADERS }), /^Signer is not a known member$/],
    ['a JSON body', request({ body: utf8('{}'), headers: { 'content-type': 'application/json' } }), /^Content type is not set to application\/cose$/],
    ['a signed body sent without its content type', request({ body }), /^Missing content-type header$/],
    ['a non-COSE body labelled COSE', request({ body: utf8('{}'), headers: COSE_HEADERS }), /^the request body is not a COSE Sign1 message/],
    ['no created_at', request({ body: memberSigned(member, utf8('{}'), []), headers: COSE_HEADERS }), /needs ccf\.gov\.msg\.created_at/],
  ];
  for (const [what, rpcRequest, message] of cases) {
    let refusal: unknown;
    assert.throws(() => authn(rpcRequest, ['member_cose_sign1']), (error) => {
      refusal = error;
      return rejected(message)(error);
    }, what);
    const answer = asRpcError(refusal);
    assert.equal(answer.status, 401, what);
    assert.equal(answer.code, 'InvalidAuthenticationInfo', what);
    assert.deepEqual(answer.headers, { 'www-authenticate': 'COSE-SIGN1 realm="Signed request access"' }, what);
  }
});

test("both COSE policies take CCF's algorithms for requests, ECDSA only: EdDSA is refused in CCF's words, and a key that cannot sign requests is named", () => {
  const edSigned = (signer: typeof member, headers: [string, unknown][]) =>
    signCoseSign1({ privateKey: signer.keyPair.privateKeyPem, protectedHeader: new Map<number | string, unknown>([[COSE_HEADER_KID, utf8(signer.id)], ...headers]), payload: utf8('{}') });
  assert.throws(() => authn(request({ body: edSigned(ed25519Member, [[GOV_MSG_CREATED_AT, NOW]]), headers: COSE_HEADERS }), ['member_cose_sign1']), rejected(/^Unsupported algorithm: -8$/));
  assert.throws(() => authn(request({ body: edSigned(ed25519User, []), headers: COSE_HEADERS }), ['user_cose_sign1']), rejected(/^Unsupported algorithm: -8$/));
  // ES256 claimed under the Ed25519 member's kid: the member's key is what cannot sign.
  const protectedHeader = new Map<number | string, unknown>([[COSE_HEADER_ALG, COSE_ALG_ES256], [COSE_HEADER_KID, utf8(ed25519Member.id)], [GOV_MSG_CREATED_AT, NOW]]);
  const claimed = encodeCoseSign1({ protectedBytes: encodeCbor(protectedHeader), protectedHeader, unprotectedHeader: new Map(), payload: utf8('{}'), signature: new Uint8Array(64) });
  assert.throws(
    () => authn(request({ body: claimed, headers: COSE_HEADERS }), ['member_cose_sign1']),
    rejected(/^the signature cannot be checked: the signer's certificate key \(Ed25519\) cannot sign requests: they take ECDSA keys on P-256, P-384, P-521$/),
  );
});

test('both COSE policies look the kid up byte for byte, as CCF does: a UTF-8 BOM before the ID, or bytes that are not UTF-8, name no one', () => {
  const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
  const signedUnder = (signer: typeof member, kid: Uint8Array, headers: [string, unknown][]) =>
    signCoseSign1({ privateKey: signer.keyPair.privateKeyPem, protectedHeader: new Map<number | string, unknown>([[COSE_HEADER_KID, kid], ...headers]), payload: utf8('{}') });
  for (const [what, kidOf] of [
    ['a BOM before the ID', (id: string) => concatBytes(BOM, utf8(id))],
    ['an ID ending in a byte that is not UTF-8', (id: string) => concatBytes(utf8(id), Uint8Array.of(0xff))],
  ] as const) {
    assert.throws(() => authn(request({ body: signedUnder(member, kidOf(member.id), [[GOV_MSG_CREATED_AT, NOW]]), headers: COSE_HEADERS }), ['member_cose_sign1']), rejected(/^Signer is not a known member$/), what);
    assert.throws(() => authn(request({ body: signedUnder(user, kidOf(user.id), []), headers: COSE_HEADERS }), ['user_cose_sign1']), rejected(/^Signer is not a known user$/), what);
  }
});

test('member_cose_sign1 takes its turn in a policy list and joins all_of', () => {
  const body = memberSigned(member, utf8('{"n": 2}'));
  const first = authn(request({ body, headers: COSE_HEADERS }), ['user_cose_sign1', 'member_cose_sign1']);
  assert.equal(first?.['policy'], 'member_cose_sign1');
  const both = authn(request({ cert: member, body, headers: COSE_HEADERS }), [{ all_of: ['member_cert', 'member_cose_sign1'] }]) as Record<string, Record<string, unknown>>;
  assert.deepEqual(both.policy, ['member_cert', 'member_cose_sign1']);
  assert.equal(both.member_cert!.id, member.id);
  assert.deepEqual(both.member_cose_sign1, { policy: 'member_cose_sign1', id: member.id, data: { org: 'A' }, cert: member.certPem, cose: { content: utf8('{"n": 2}') } });
  assert.throws(() => authn(request({ cert: user, body, headers: COSE_HEADERS }), [{ all_of: ['member_cert', 'member_cose_sign1'] }]), rejected(/^member_cert:Could not find matching member certificate$/));
});

test("when no policy accepts the request, CCF's 401: a fixed message, each policy's reason in details, and the last policy's challenge", () => {
  const refusal = (policies: AuthnPolicy[], rpcRequest = request()) => {
    try {
      authn(rpcRequest, policies);
    } catch (error) {
      assert.ok(error instanceof AuthenticationError);
      return asRpcError(error);
    }
    assert.fail('refused');
  };
  const answer = refusal(['user_cert', { all_of: ['member_cert', 'jwt'] }]);
  assert.equal(answer.status, 401);
  assert.deepEqual(JSON.parse(errorBody(answer.code, answer.message, answer.details)).error, {
    code: 'InvalidAuthenticationInfo',
    message: 'Invalid authentication credentials.',
    details: [
      { auth_policy: 'user_cert', code: 'InvalidAuthenticationInfo', message: 'No caller user certificate' },
      { auth_policy: 'jwt+member_cert', code: 'InvalidAuthenticationInfo', message: 'jwt:Missing authorization header' },
    ],
  });
  // The challenge is the last policy's: the JWT realm after jwt, none after a certificate policy.
  assert.equal(answer.headers['www-authenticate'], 'Bearer realm="JWT bearer token access", error="invalid_token"');
  assert.equal(refusal(['jwt', 'user_cert']).headers['www-authenticate'], undefined);
  assert.equal(refusal(['jwt', 'user_cose_sign1']).headers['www-authenticate'], 'COSE-SIGN1 realm="Signed request access"');
  // One policy: the same fixed message, its reason in details.
  assert.equal(refusal(['jwt']).message, 'Invalid authentication credentials.');
});

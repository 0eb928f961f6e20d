// Authentication policies for application endpoints, as CCF names them: `user_cert`,
// `member_cert`, `any_cert`, `jwt`, `user_cose_sign1`, `member_cose_sign1`, `no_auth`, and
// `{"all_of": [...]}`. An endpoint lists policies; the first that accepts the request gives the
// caller object the handler sees (CCF's shapes); if none does, a 401 lists each one's reason.

import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fromBase64, fromUtf8, isValidUtf8, utf8 } from '../crypto/bytes.js';
import { cborUnsignedBigInt, checkCriticalHeaders, checkRequestAlgorithm, COSE_HEADER_KID, decodeCoseSign1, protectedHeaderValues, verifyRequestSignature, type CoseSign1 } from '../crypto/cose-sign1.js';
import { OPENSSL_CURVE_NAMES } from '../crypto/ecdsa-nonce.js';
import { parseCertificate } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { decodeJson, Tables } from '../governance/builtin-tables.js';
import { jwtKeysOfKid, type JwtKeyMetadata } from '../governance/gov-effects.js';
import { authenticateMemberCose, CREATED_AT_INT64_MAX, type MemberCoseIdentity } from '../governance/member-cose-identity.js';
import type { Transaction } from '../kv/transaction.js';
import { AuthenticationError, COSE_CHALLENGE } from './rpc-error.js';
import type { ClientCertificate, RpcRequest } from './rpc-server.js';

export type AuthnPolicy = string | { all_of: string[] };

export interface AuthnContext {
  tx: Transaction;
  request: RpcRequest;
  /** Untrusted host time, for JWT `nbf` / `exp` and client certificates' validity periods. */
  nowSeconds: number;
}

export const USER_COSE_MSG_TYPE = 'ccf.msg.type';
export const USER_COSE_CREATED_AT = 'ccf.msg.created_at';

function reject(reason: string, challenge?: string): never {
  throw new AuthenticationError(reason, challenge);
}

/** The TLS client certificate; `what` names the caller the policy wants ("user ", "member " or none), as CCF's refusal does. */
function clientCert(request: RpcRequest, what: string): ClientCertificate {
  if (request.clientCert === undefined) reject(`No caller ${what}certificate`);
  return request.clientCert;
}

/** Each connection's certificate validity period, in Unix seconds: parsed once per connection. */
const validityPeriods = new WeakMap<ClientCertificate, { from: number; to: number }>();

/**
 * The client certificate, refused outside its validity period at the host's time, as CCF's
 * `user_cert` and `any_cert` policies do (its `member_cert` does not check, nor does this).
 */
function currentClientCert(ctx: AuthnContext, what: string): ClientCertificate {
  const cert = clientCert(ctx.request, what);
  let period = validityPeriods.get(cert);
  if (period === undefined) {
    const { notBefore, notAfter } = parseCertificate(cert.der);
    period = { from: Math.floor(notBefore.getTime() / 1000), to: Math.floor(notAfter.getTime() / 1000) };
    validityPeriods.set(cert, period);
  }
  if (ctx.nowSeconds < period.from) reject(`Current time ${ctx.nowSeconds} is before certificate's Not Before validity period ${period.from}`);
  if (ctx.nowSeconds > period.to) reject(`Current time ${ctx.nowSeconds} is after certificate's Not After validity period ${period.to}`);
  return cert;
}

/** The `user_data` / `member_data` of a caller, `null` when it has none, as CCF hands it to handlers. */
function callerData(tx: Transaction, what: 'user' | 'member', id: string): unknown {
  const infos = what === 'user' ? Tables.usersInfo : Tables.membersInfo;
  const info = tx.map(infos).get(utf8(id));
  return info === undefined ? null : (decodeJson<Record<string, unknown>>(info, infos)[`${what}_data`] ?? null);
}

function certIdentity(ctx: AuthnContext, policy: 'user_cert' | 'member_cert'): Record<string, unknown> {
  const [certs, what] = policy === 'user_cert' ? [Tables.usersCerts, 'user' as const] : [Tables.membersCerts, 'member' as const];
  const { pem, id, idKey } = policy === 'user_cert' ? currentClientCert(ctx, 'user ') : clientCert(ctx.request, 'member ');
  if (!ctx.tx.map(certs).has(idKey)) reject(`Could not find matching ${what} certificate`);
  return { policy, id, data: callerData(ctx.tx, what, id), cert: pem };
}

/** A JWT's `Bearer` challenge, which every JWT refusal carries, as CCF's does. */
const JWT_REALM = 'Bearer realm="JWT bearer token access", error="invalid_token"';
/** A JWT part: unpadded base64url (RFC 7515), so that one token has one spelling. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A JWT part's JSON object, refused in CCF's words; bytes that are not UTF-8 are refused, as CCF's parser does, not replaced. */
function base64UrlJson(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  const bytes = Buffer.from(part, 'base64url');
  if (!isValidUtf8(bytes)) reject(`JWT header or payload is not valid JSON: the ${what} is not UTF-8 text`, JWT_REALM);
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    reject(`JWT header or payload is not valid JSON: the ${what} does not parse (${(error as Error).message})`, JWT_REALM);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) reject('JWT header or payload is not an object', JWT_REALM);
  return value as Record<string, unknown>;
}

interface JwtAlgorithm {
  hash: string;
  /** The key it takes: RSA, or EC on this curve (as Node names it). */
  keyType: 'rsa' | 'ec';
  curve?: string;
  dsaEncoding?: 'ieee-p1363';
}

const JWT_ALGORITHMS: Record<string, JwtAlgorithm> = {
  RS256: { hash: 'sha256', keyType: 'rsa' },
  RS384: { hash: 'sha384', keyType: 'rsa' },
  RS512: { hash: 'sha512', keyType: 'rsa' },
  ES256: { hash: 'sha256', keyType: 'ec', curve: OPENSSL_CURVE_NAMES['P-256'], dsaEncoding: 'ieee-p1363' },
  ES384: { hash: 'sha384', keyType: 'ec', curve: OPENSSL_CURVE_NAMES['P-384'], dsaEncoding: 'ieee-p1363' },
  ES512: { hash: 'sha512', keyType: 'ec', curve: OPENSSL_CURVE_NAMES['P-521'], dsaEncoding: 'ieee-p1363' },
};

function jwtIdentity(ctx: AuthnContext): Record<string, unknown> {
  // CCF's reasons up to the token's parts, which clients may match on.
  const authorization = ctx.request.headers.authorization;
  if (typeof authorization !== 'string') reject('Missing authorization header', JWT_REALM);
  const space = authorization.indexOf(' ');
  if (space < 0) reject('Authorization header only contains one field', JWT_REALM);
  if (authorization.slice(0, space) !== 'Bearer') reject('Authorization header does not have Bearer scheme', JWT_REALM);
  const parts = authorization.slice(space + 1).trim().split('.');
  if (parts.length !== 3) reject('Malformed JWT: must contain exactly 3 parts', JWT_REALM);
  // Re-encoding catches what the alphabet does not: a last character with spare bits set, or a part one character too long.
  if (!parts.every((part) => BASE64URL.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part)) reject('Malformed JWT: each part must be unpadded base64url, with the unused bits of its last character zero', JWT_REALM);
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = base64UrlJson(headerPart, 'header');
  const payload = base64UrlJson(payloadPart, 'payload');
  const algorithm = typeof header.alg === 'string' ? JWT_ALGORITHMS[header.alg] : undefined;
  if (algorithm === undefined) reject(`JWT algorithm ${JSON.stringify(header.alg)} is not supported`, JWT_REALM);
  if (typeof header.kid !== 'string') reject('the JWT header has no kid', JWT_REALM);
  const keys = jwtKeysOfKid(ctx.tx, header.kid);
  if (keys === undefined || keys.length === 0) reject(`JWT signing key not found for kid ${header.kid}`, JWT_REALM);
  // As CCF: `exp` and `iss` are required; `nbf` and `tid` are checked when present.
  if (typeof payload.exp !== 'number') reject(payload.exp === undefined ? 'the JWT payload is missing required field exp' : 'the JWT payload\'s exp must be a number (seconds since the epoch)', JWT_REALM);
  if (typeof payload.iss !== 'string') reject(payload.iss === undefined ? 'the JWT payload is missing required field iss' : 'the JWT payload\'s iss must be a string', JWT_REALM);
  if (payload.nbf !== undefined && typeof payload.nbf !== 'number') reject('the JWT claim nbf is not a number', JWT_REALM);
  // CCF reads both as unsigned integers: a number past the largest double (1e400 parses to Infinity) would never expire.
  for (const claim of ['exp', 'nbf'] as const) {
    const value = payload[claim] as number | undefined;
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) reject(`the JWT claim ${claim} is not a time in seconds since the epoch (a finite number, not negative)`, JWT_REALM);
  }
  if (payload.tid !== undefined && typeof payload.tid !== 'string') reject('the JWT claim tid is not a string', JWT_REALM);
  const claims = { exp: payload.exp, iss: payload.iss, nbf: payload.nbf as number | undefined, tid: payload.tid as string | undefined };
  const signed = utf8(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  // Each key registered under the kid is tried, as CCF does; the last reason is reported.
  let reason = 'Signature verification failed';
  for (const key of keys) {
    if (!verifiesWith(key, algorithm, signed, signature)) continue;
    if (claims.nbf !== undefined && ctx.nowSeconds < claims.nbf) reason = `Current time ${ctx.nowSeconds} is before token's Not Before (nbf) claim ${claims.nbf}`;
    else if (ctx.nowSeconds > claims.exp) reason = `Current time ${ctx.nowSeconds} is after token's Expiration Time (exp) claim ${claims.exp}`;
    else if (key.constraint !== undefined && !issuerMeetsConstraint(claims.iss, claims.tid, key.constraint)) reason = `Kid ${header.kid} failed issuer constraint validation ${key.constraint}`;
    else return { policy: 'jwt', jwt: { keyIssuer: key.issuer, header, payload } };
  }
  reject(reason, JWT_REALM);
}

function verifiesWith(key: JwtKeyMetadata, algorithm: JwtAlgorithm, signed: Uint8Array, signature: Uint8Array): boolean {
  try {
    const publicKey = createPublicKey({ key: Buffer.from(fromBase64(key.public_key)), format: 'der', type: 'spki' });
    // The header's alg must be the key's: an ES256 token is not checked as RSA, nor ES384 on P-256.
    if (publicKey.asymmetricKeyType !== algorithm.keyType || (algorithm.curve !== undefined && publicKey.asymmetricKeyDetails?.namedCurve !== algorithm.curve)) return false;
    return nodeVerify(algorithm.hash, signed, { key: publicKey, ...(algorithm.dsaEncoding ? { dsaEncoding: algorithm.dsaEncoding } : {}) }, signature);
  } catch {
    return false;
  }
}

/** Microsoft Entra ID's multi-tenant issuers: `{tenantid}` in a constraint stands for the token's `tid`. */
const ENTRA_HOST = 'login.microsoftonline.com';

/**
 * CCF's issuer constraint check. Outside Entra, `iss` must be the constraint and carry no `tid`.
 * For Entra, `{tenantid}` takes the token's `tid`, `iss` must then equal the constraint, and `tid`
 * must be the first segment of the issuer's path.
 */
function issuerMeetsConstraint(iss: string, tid: string | undefined, constraint: string): boolean {
  const url = (text: string): URL | undefined => {
    try {
      return new URL(text);
    } catch {
      return undefined;
    }
  };
  if (url(constraint)?.hostname !== ENTRA_HOST) return iss === constraint && tid === undefined;
  const expected = tid === undefined ? constraint : constraint.replace('{tenantid}', tid);
  if (iss !== expected) return false;
  const tenant = url(iss)?.pathname.split('/').find((segment) => segment !== '');
  return tid !== undefined && tenant === tid;
}

/** The body of a request for a COSE policy: CCF looks at the Content-Type before the body, and so its reasons. */
function coseBody(ctx: AuthnContext): Uint8Array {
  const type = ctx.request.headers['content-type'];
  if (type === undefined) reject('Missing content-type header', COSE_CHALLENGE);
  if (type !== 'application/cose') reject('Content type is not set to application/cose', COSE_CHALLENGE);
  return ctx.request.body;
}

/** Whether `message` verifies with the certificate: a detached payload, a key that cannot sign requests or an alg that is not the key's does not. */
function coseVerifies(message: CoseSign1, certPem: string): boolean {
  try {
    return verifyRequestSignature(message, certPem);
  } catch (error) {
    if (error instanceof CocoError) return false;
    throw error;
  }
}

function userCoseIdentity(ctx: AuthnContext): Record<string, unknown> {
  const body = coseBody(ctx);
  let message;
  try {
    message = decodeCoseSign1(body, { requireTag: true });
    checkCriticalHeaders(message);
  } catch (error) {
    reject(`the body is not COSE Sign1: ${(error as Error).message}`, COSE_CHALLENGE);
  }
  // As CCF: both headers are optional, but when present ccf.msg.type is a text string and
  // ccf.msg.created_at a CBOR integer (not a float) from 0 to 2^63 - 1.
  const msgType = message.protectedHeader.get(USER_COSE_MSG_TYPE);
  if (msgType !== undefined && typeof msgType !== 'string') reject(`the protected header ${USER_COSE_MSG_TYPE} must be a text string`, COSE_CHALLENGE);
  const createdAtItem = protectedHeaderValues(message.protectedBytes).get(USER_COSE_CREATED_AT);
  const createdAt = createdAtItem === undefined ? undefined : cborUnsignedBigInt(createdAtItem);
  if (createdAtItem !== undefined && (createdAt === undefined || createdAt > CREATED_AT_INT64_MAX)) {
    reject(`the protected header ${USER_COSE_CREATED_AT} must be seconds since the epoch as a CBOR integer, from 0 to 2^63 - 1`, COSE_CHALLENGE);
  }
  try {
    checkRequestAlgorithm(message);
  } catch (error) {
    reject((error as Error).message, COSE_CHALLENGE);
  }
  const kid = message.protectedHeader.get(COSE_HEADER_KID);
  if (!(kid instanceof Uint8Array)) reject('the COSE protected header needs kid: the user ID', COSE_CHALLENGE);
  // Looked up as the bytes it is, as CCF does: a BOM or bytes that are not UTF-8 name no user.
  const cert = ctx.tx.map(Tables.usersCerts).get(kid);
  if (cert === undefined) reject('Signer is not a known user', COSE_CHALLENGE);
  const id = fromUtf8(kid);
  const pem = fromUtf8(cert);
  if (!coseVerifies(message, pem)) reject('Failed to validate COSE Sign1', COSE_CHALLENGE);
  return { policy: 'user_cose_sign1', id, data: callerData(ctx.tx, 'user', id), cert: pem, cose: { content: message.payload ?? new Uint8Array() } };
}

/**
 * The member a COSE check (`authenticateMemberCose`, for app endpoints and the governance API)
 * finds; its refusal is an AuthenticationError naming the policy in its details as CCF does:
 * `active_member_cose_sign1` where the member must be Active (proposals, ballots, withdrawals),
 * `member_cose_sign1` elsewhere.
 */
export function memberCoseSigner(check: () => MemberCoseIdentity, requireActive = false): MemberCoseIdentity {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof CocoError) || error.code !== 'InvalidAuthenticationInfo') throw error;
    const policy = requireActive ? 'active_member_cose_sign1' : 'member_cose_sign1';
    throw new AuthenticationError(error.message, COSE_CHALLENGE, [{ auth_policy: policy, code: error.code, message: error.message }]);
  }
}

/**
 * CCF's `member_cose_sign1` (`MemberCOSESign1AuthnPolicy` with no message type): the governance
 * API's checks on the envelope, the signer and its signature, but any `ccf.gov.msg.type` (or none)
 * and any member status: only the governance endpoints require an Active member.
 */
function memberCoseIdentity(ctx: AuthnContext): Record<string, unknown> {
  const body = coseBody(ctx);
  const { memberId: id, certPem: cert, content } = memberCoseSigner(() => authenticateMemberCose(ctx.tx, body, { msgType: null, requireActive: false }));
  return { policy: 'member_cose_sign1', id, data: callerData(ctx.tx, 'member', id), cert, cose: { content } };
}

/** The policies an endpoint may name, by name. */
const POLICIES: Readonly<Record<string, (ctx: AuthnContext) => Record<string, unknown>>> = {
  user_cert: (ctx) => certIdentity(ctx, 'user_cert'),
  member_cert: (ctx) => certIdentity(ctx, 'member_cert'),
  any_cert: (ctx) => ({ policy: 'any_cert', cert: currentClientCert(ctx, '').pem }),
  jwt: jwtIdentity,
  user_cose_sign1: userCoseIdentity,
  member_cose_sign1: memberCoseIdentity,
  no_auth: () => ({ policy: 'no_auth' }),
};

function single(ctx: AuthnContext, policy: string): Record<string, unknown> {
  return POLICIES[policy]!(ctx);
}

/** An unknown policy's name is shown this far, in the answer and the log line of every request to its endpoint. */
const POLICY_NAME_SHOWN_MAX = 64;

/**
 * As CCF's (instantiate_authn_policies), an endpoint naming a policy that does not exist fails every
 * request, even one another of its policies would accept: a misspelt name is not left unnoticed.
 */
function checkPolicyNames(policies: readonly AuthnPolicy[]): void {
  for (const name of policies.flatMap((policy) => (typeof policy === 'string' ? [policy] : policy.all_of))) {
    if (!Object.hasOwn(POLICIES, name)) {
      throw new CocoError('InternalError', `Unknown auth policy: ${name.length > POLICY_NAME_SHOWN_MAX ? `${name.slice(0, POLICY_NAME_SHOWN_MAX)}...` : name}. The endpoint's authn_policies name a policy that does not exist (known: ${Object.keys(POLICIES).join(', ')}): fix the app and deploy it again`);
    }
  }
}

/**
 * CCF keeps an `all_of`'s policies in a map: they run, and the caller lists them, in name order. As
 * in CCF, one policy twice is an error of the app (a bundle set by a constitution that allowed it).
 */
function allOfParts(policy: { all_of: string[] }): string[] {
  const parts = [...policy.all_of].sort();
  const repeated = parts.find((part, i) => parts[i + 1] === part);
  if (repeated !== undefined) throw new CocoError('InternalError', `AND authentication policy contains duplicate policies identified by ${repeated}`);
  return parts;
}

/** Every part must accept the request; a refusal names the part (CCF's "<policy>:<reason>") and keeps its challenge. */
function allOf(ctx: AuthnContext, parts: string[]): Record<string, unknown> {
  const caller: Record<string, unknown> = { policy: parts };
  for (const part of parts) {
    try {
      caller[part] = single(ctx, part);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      throw new AuthenticationError(`${part}:${error.message}`, error.challenge);
    }
  }
  return caller;
}

/** A policy's name in an error's details: CCF's security scheme name (an `all_of`'s parts joined by "+"). */
function policyName(policy: AuthnPolicy): string {
  return typeof policy === 'string' ? policy : allOfParts(policy).join('+');
}

/**
 * The caller object for the first policy that accepts the request; `null` when no policy is listed.
 * When none accepts it, the refusal is CCF's: a fixed message, each policy's reason in `details`,
 * and the challenge of the last policy (none if that one has none), which alone sets it in CCF.
 */
export function authenticate(ctx: AuthnContext, policies: readonly AuthnPolicy[]): Record<string, unknown> | null {
  if (policies.length === 0) return null;
  checkPolicyNames(policies);
  const refusals: AuthenticationError[] = [];
  for (const policy of policies) {
    try {
      return typeof policy === 'string' ? single(ctx, policy) : allOf(ctx, allOfParts(policy));
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      refusals.push(error);
    }
  }
  const details = refusals.map((refusal, i) => ({ auth_policy: policyName(policies[i]!), code: refusal.code, message: refusal.message }));
  throw new AuthenticationError('Invalid authentication credentials.', refusals.at(-1)!.challenge, details);
}

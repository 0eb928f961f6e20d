// `coco gov prepare` and `coco gov finish`: a governance request signed by a key that never reaches
// Coco (an HSM, a cloud key vault), in the two steps of CCF's ccf_cose_sign1_prepare and
// ccf_cose_sign1_finish, with their options. prepare prints what to sign; finish takes the
// signature (DER, raw r‖s, or a key vault's JSON answer), checks it against the member's
// certificate and writes the COSE_Sign1 that `coco gov submit` sends. Both steps are given the same
// request, as in CCF: nothing is kept between them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GOVERNANCE_MSG_TYPES, prepareGovernanceRequest, PROPOSAL_ID, PROPOSAL_SCOPED_MSG_TYPES, type GovernanceMsgType } from '../client/cose-signing.js';
import { finishPreparedRequest, type PreparedRequest } from '../client/external-signing.js';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import { readInputFile } from '../node/read-input.js';
import { writeOutputFile } from './output-file.js';
import { readCertificate } from './service-connection.js';
import { UsageError } from './usage-error.js';

/** Message types whose request has no body: without --content, they sign an empty one. */
const BODILESS_MSG_TYPES: ReadonlySet<GovernanceMsgType> = new Set(['withdrawal', 'state_digest']);
/** Seconds since the epoch, or an ISO 8601 date and time (`date -Is`); without an offset it is local time, as in CCF's tools. */
const EPOCH_SECONDS = /^\d+$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const MS_PER_SECOND = 1_000;
/** Base64 or base64url, as a key vault answers (Azure Key Vault: base64url of r‖s). */
const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;

const REQUEST_USAGE = `The request (the same for prepare and finish; CCF's option names):
  --ccf-gov-msg-type TYPE        ${GOVERNANCE_MSG_TYPES.join(', ')}
  --ccf-gov-msg-created-at TIME  seconds since the epoch ($(date +%s)) or ISO 8601 ($(date -Is))
  --ccf-gov-msg-proposal-id ID   the proposal, for a ballot or a withdrawal
  --content FILE                 the request body, signed as it is ('-' reads stdin); a withdrawal
                                 or state_digest without it has an empty body
  --cert PEM                     the member's certificate (also --signing-cert; default
                                 workspace/sandbox_common/member0_cert.pem, see --workspace)
  --workspace DIR                where the sandbox files are (default ./workspace)`;

export const GOV_PREPARE_USAGE = `Usage: coco gov prepare --ccf-gov-msg-type TYPE --ccf-gov-msg-created-at TIME [--ccf-gov-msg-proposal-id ID]
                        [--content FILE] [--cert PEM] [--to-be-signed FILE]

Prints what the member's key must sign for this request, as CCF's ccf_cose_sign1_prepare does:
{"alg": "ES384", "value": "<base64 of the digest>"}, the body of an Azure Key Vault sign call. The
digest is the SHA-256, SHA-384 or SHA-512 (ES256, ES384, ES512: from the certificate's curve) of
the COSE ToBeSigned bytes; sign it with an HSM's raw ECDSA (openssl pkeyutl -sign, PKCS#11
CKM_ECDSA). --to-be-signed FILE also writes the ToBeSigned bytes themselves, for a signer that
hashes them itself (openssl dgst -sha384 -sign, PKCS#11 CKM_ECDSA_SHA384). Then coco gov finish.

${REQUEST_USAGE}
`;

export const GOV_FINISH_USAGE = `Usage: coco gov finish --ccf-gov-msg-type TYPE --ccf-gov-msg-created-at TIME [--ccf-gov-msg-proposal-id ID]
                       [--content FILE] [--cert PEM] --signature FILE [--out FILE]

Writes the COSE_Sign1 of the request that coco gov prepare was given (the same options), with the
signature in FILE, as CCF's ccf_cose_sign1_finish does, once the signature verifies with the
certificate's key. FILE holds the ECDSA signature as DER or raw r‖s (binary, or base64 text), or a
key vault's JSON answer {"value": "<base64url>"}. The envelope goes to stdout (binary: redirect it)
or to --out FILE; coco gov submit FILE sends it.

${REQUEST_USAGE}
`;

const REQUEST_OPTIONS = {
  'ccf-gov-msg-type': { type: 'string' },
  'ccf-gov-msg-created-at': { type: 'string' },
  'ccf-gov-msg-created_at': { type: 'string' },
  'ccf-gov-msg-proposal-id': { type: 'string' },
  'ccf-gov-msg-proposal_id': { type: 'string' },
  content: { type: 'string' },
  cert: { type: 'string' },
  'signing-cert': { type: 'string' },
  workspace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

export function runGovPrepare(args: string[]): number {
  const { values } = parseArgs({ args, options: { ...REQUEST_OPTIONS, 'to-be-signed': { type: 'string' } }, strict: true });
  if (values.help) {
    process.stdout.write(GOV_PREPARE_USAGE);
    return 0;
  }
  const prepared = preparedRequest(values, GOV_PREPARE_USAGE);
  if (values['to-be-signed'] !== undefined) writeOutputFile(values['to-be-signed'], prepared.toBeSigned, 'ToBeSigned bytes');
  process.stdout.write(`${JSON.stringify({ alg: prepared.algorithm, value: Buffer.from(prepared.digest).toString('base64') })}\n`);
  return 0;
}

export function runGovFinish(args: string[]): number {
  const { values } = parseArgs({ args, options: { ...REQUEST_OPTIONS, signature: { type: 'string' }, out: { type: 'string' } }, strict: true });
  if (values.help) {
    process.stdout.write(GOV_FINISH_USAGE);
    return 0;
  }
  if (values.signature === undefined) throw new UsageError('gov finish needs --signature FILE, the signature of what coco gov prepare printed', GOV_FINISH_USAGE);
  if (values.out === undefined && process.stdout.isTTY) {
    throw new UsageError('gov finish writes a binary COSE_Sign1: redirect stdout to a file (> request.cose) or pass --out FILE', GOV_FINISH_USAGE);
  }
  const prepared = preparedRequest(values, GOV_FINISH_USAGE);
  const signature = readSignatureFile(values.signature);
  let envelope: Uint8Array;
  try {
    envelope = finishPreparedRequest(prepared, signature);
  } catch (error) {
    if (!(error instanceof CocoError) || error.code !== 'InvalidSignature') throw error;
    throw new CocoError('InvalidSignature', `--signature ${values.signature}: ${error.message}; nothing was written`, { cause: error });
  }
  if (values.out === undefined) process.stdout.write(envelope);
  else writeOutputFile(values.out, envelope, 'COSE_Sign1 request');
  return 0;
}

/** The request the options describe, prepared for the member's certificate. */
function preparedRequest(values: Values, usage: string): PreparedRequest {
  const msgType = values['ccf-gov-msg-type'] as string | undefined;
  if (msgType === undefined || !GOVERNANCE_MSG_TYPES.includes(msgType as GovernanceMsgType)) {
    const given = msgType === undefined ? 'is required' : `is "${msgType}"`;
    throw new UsageError(`--ccf-gov-msg-type ${given}: give one of ${GOVERNANCE_MSG_TYPES.join(', ')}`, usage);
  }
  const type = msgType as GovernanceMsgType;
  const createdAt = createdAtSeconds(oneOf(values, 'ccf-gov-msg-created-at', 'ccf-gov-msg-created_at', usage), usage);
  const proposalId = oneOf(values, 'ccf-gov-msg-proposal-id', 'ccf-gov-msg-proposal_id', usage);
  if (proposalId === undefined && PROPOSAL_SCOPED_MSG_TYPES.has(type)) throw new UsageError(`a ${type} needs --ccf-gov-msg-proposal-id ID, the proposal it is for`, usage);
  if (proposalId !== undefined && !PROPOSAL_ID.test(proposalId)) throw new UsageError(`--ccf-gov-msg-proposal-id must be a proposal ID, 64 lowercase hex digits, not "${proposalId}"`, usage);
  const contentPath = values.content as string | undefined;
  if (contentPath === undefined && !BODILESS_MSG_TYPES.has(type)) throw new UsageError(`a ${type} needs --content FILE, the request body to sign`, usage);
  const content = contentPath === undefined ? new Uint8Array() : contentPath === '-' ? new Uint8Array(readFileSync(0)) : readInputFile(contentPath, 'content');
  const certPath = oneOf(values, 'cert', 'signing-cert', usage) ?? join((values.workspace as string | undefined) ?? 'workspace', 'sandbox_common', 'member0_cert.pem');
  const signerCertPem = readCertificate(certPath, 'member certificate', 'cert');
  return prepareGovernanceRequest({ content, msgType: type, createdAt, ...(proposalId !== undefined && { proposalId }), signerCertPem });
}

/** The value of an option that has two names (Coco's and CCF's, or CCF's two spellings). */
function oneOf(values: Values, name: string, otherName: string, usage: string): string | undefined {
  const [value, other] = [values[name] as string | undefined, values[otherName] as string | undefined];
  if (value !== undefined && other !== undefined && value !== other) throw new UsageError(`--${name} and --${otherName} are the same option; give it once`, usage);
  return value ?? other;
}

function createdAtSeconds(text: string | undefined, usage: string): number {
  if (text === undefined) throw new UsageError('--ccf-gov-msg-created-at TIME is required, the same for prepare and finish: $(date +%s), say', usage);
  if (EPOCH_SECONDS.test(text)) return Number(text);
  const ms = ISO_DATE_TIME.test(text) ? Date.parse(text.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--ccf-gov-msg-created-at takes seconds since the epoch ($(date +%s)) or an ISO 8601 date and time ($(date -Is)), not "${text}"`, usage);
  return Math.floor(ms / MS_PER_SECOND);
}

/** The signature's bytes: a key vault's JSON answer, base64 text, or binary (DER or raw r‖s, which finish tells apart). */
function readSignatureFile(path: string): Uint8Array {
  const bytes = readInputFile(path, 'signature');
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (text.startsWith('{')) {
    let answer: unknown;
    try {
      answer = parseJsonText(text);
    } catch {
      return bytes; // binary that happens to start with '{'
    }
    const value = (answer as { value?: unknown } | null)?.value;
    if (typeof value !== 'string' || !BASE64_TEXT.test(value)) {
      throw new CocoError('InvalidSignature', `--signature ${path} is JSON without a "value" string of base64 (a key vault's sign answer has one: {"kid": ..., "value": "<base64url>"})`);
    }
    return new Uint8Array(Buffer.from(value, 'base64'));
  }
  return BASE64_TEXT.test(text) ? new Uint8Array(Buffer.from(text, 'base64')) : bytes;
}

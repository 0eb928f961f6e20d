// Coco's client SDK, the library entry point: an HTTPS client with the caller's identity, COSE
// signing of governance and user requests, typed governance calls, commit waiting and receipts.
// Everything here speaks CCF's public REST formats, so it works against CCF services as well.

export {
  CONNECTIONS_PER_NODE_DEFAULT,
  CocoClient,
  REDIRECTS_MAX_DEFAULT,
  REQUEST_TIMEOUT_MS_DEFAULT,
  RESPONSE_BODY_BYTES_MAX_DEFAULT,
  type CocoClientOptions,
  type RequestBody,
  type RequestOptions,
} from './coco-client.js';
export { TRANSACTION_ID_HEADER, type CocoResponse } from './coco-response.js';
export { CocoRequestError, ERROR_BODY_EXCERPT_CHARS_MAX } from './request-error.js';
export { CLIENT_ERROR_CODES, type ClientErrorCode } from './error-codes.js';
export { DOWNLOAD_PIECE_BYTES_DEFAULT, downloadInRanges, type RangedDownload } from './ranged-download.js';
export {
  COSE_CONTENT_TYPE,
  CREATED_AT_SECONDS_MAX,
  GOVERNANCE_MSG_TYPES,
  GOV_MSG_CREATED_AT_HEADER,
  GOV_MSG_PROPOSAL_ID_HEADER,
  GOV_MSG_TYPE_HEADER,
  USER_MSG_CREATED_AT_HEADER,
  USER_MSG_TYPE_HEADER,
  prepareGovernanceRequest,
  signGovernanceRequest,
  signUserRequest,
  type ExternallySignedGovernanceRequestInput,
  type GovernanceMsgType,
  type GovernanceRequestFields,
  type GovernanceRequestInput,
  type Signer,
  type UserRequestInput,
} from './cose-signing.js';
export {
  finishPreparedRequest,
  type ExternalSigner,
  type PreparedRequest,
  type RequestAlgorithmName,
  type SignatureRequest,
} from './external-signing.js';
export {
  GOV_API_VERSION,
  GovernanceClient,
  LIST_PAGES_MAX,
  type Failure,
  type GovernanceClientOptions,
  type GovernanceMember,
  type JavascriptApp,
  type JavascriptEndpoint,
  type MemberInfo,
  type NodeInfo,
  type Proposal,
  type ProposalAction,
  type ProposalBody,
  type ProposalState,
  type RecoveryShareSubmission,
  type ServiceInfo,
  type SignOptions,
  type StateDigest,
  type UserInfo,
} from './governance-client.js';
export {
  COMMIT_POLL_INTERVAL_MS_DEFAULT,
  COMMIT_TIMEOUT_MS_DEFAULT,
  RECEIPT_RETRY_MS_DEFAULT,
  RECEIPT_TIMEOUT_MS_DEFAULT,
  TRANSACTION_STATUSES,
  getReceipt,
  parseTxId,
  requireTxId,
  txIdText,
  verifyCoseReceipt,
  verifyReceipt,
  verifyReceiptOffline,
  waitForCommit,
  type GetReceiptOptions,
  type TransactionStatus,
  type WaitForCommitOptions,
} from './transactions.js';
export { CocoError } from '../errors.js';
export { formatTxId, type TxId } from '../ledger/tx-id.js';
export type { Receipt, ReceiptLeafComponents, ReceiptProofStep, SignatureReceipt, TxReceipt, VerifiedReceipt } from '../ledger/receipt.js';
export type { VerifiedCoseReceipt } from '../ledger/cose-receipt.js';

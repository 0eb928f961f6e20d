// The codes of the CocoErrors that the client SDK throws itself, its own and those of the checks it
// runs (PEM, receipts); docs/client.md says what each means and what to do. A CocoRequestError
// carries the service's code instead (CCF's, e.g. ResourceNotFound), which no fixed list holds.

export const CLIENT_ERROR_CODES = [
  'InvalidArgument',
  'InvalidCertificate',
  'InvalidKey',
  'InvalidSignature',
  'InvalidPem',
  'ClientClosed',
  'ConnectionFailed',
  'ConnectionLost',
  'TlsError',
  'Timeout',
  'TooManyRedirects',
  'InvalidRedirect',
  'ResponseTooLarge',
  'InvalidResponse',
  'MissingTransactionId',
  'TransactionInvalid',
  'DownloadFailed',
  'DecryptionFailed',
  'ReceiptMalformed',
  'ReceiptInvalid',
  'ReceiptClaimsMismatch',
  'InternalError',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

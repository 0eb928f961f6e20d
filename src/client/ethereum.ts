// The client SDK's Ethereum part, `coco/ethereum`: apart from the entry point because it loads the
// Ethereum libraries (and a WebAssembly Keccak hasher), which a client of the REST API alone should
// not pay for at import.

export { ethereumReceiptClaimsDigest } from '../ethereum/receipt-claims.js';

// The sandbox's development accounts: ten deterministic keys (derived from a fixed label, the same
// in every sandbox, like Hardhat's well-known test accounts), funded at genesis. Anyone can derive
// them: never fund them on a service that matters.

import { bytesToHex, privateToAddress, toChecksumAddress } from '@ethereumjs/util';
import { utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';

export const DEV_ACCOUNT_COUNT = 10;
/** 10,000 ether each. */
export const DEV_ACCOUNT_BALANCE = 10_000n * 10n ** 18n;

export interface DevAccount {
  address: string;
  privateKey: string;
  balance: bigint;
}

export function devAccounts(count = DEV_ACCOUNT_COUNT): DevAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const key = sha256(utf8(`coco sandbox development account ${i}`));
    return { address: toChecksumAddress(bytesToHex(privateToAddress(key))), privateKey: bytesToHex(key), balance: DEV_ACCOUNT_BALANCE };
  });
}

// CCF's `ccf.tcbHexToPolicy(cpuid, tcbHex)`: an AMD SEV-SNP TCB version as attestation reports and
// AMD's tools print it (8 bytes, little-endian, in hex) read into the fields of the product the CPUID
// names. Coco runs no SNP node, but constitutions use it to set minimum TCB versions
// (`set_snp_minimum_tcb_version_hex`), and the layout differs between products.

import { fromHex } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';

export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';

/** In CCF's key order; `fmc` only on Turin. */
export interface TcbVersionPolicy {
  hexstring: string;
  microcode: number;
  snp: number;
  tee: number;
  boot_loader: number;
  fmc?: number;
}

const TCB_VERSION_BYTES = 8;

/** The product of an AMD CPUID (`Fn0000_0001_EAX`, as 8 hex digits: "00a00f11" is Milan). */
export function snpProduct(cpuidHex: string): SnpProduct {
  if (!/^[0-9a-fA-F]{8}$/.test(cpuidHex)) throw new CocoError('InvalidArgument', `the CPUID must be 8 hex digits (4 bytes), got ${JSON.stringify(cpuidHex)}`);
  const eax = Number.parseInt(cpuidHex, 16);
  const family = ((eax >>> 8) & 0xf) + ((eax >>> 20) & 0xff);
  const model = (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf);
  if (family === 0x19 && model === 0x01) return 'Milan';
  if (family === 0x19 && model === 0x11) return 'Genoa';
  if (family === 0x1a && model === 0x01) return 'Turin';
  throw new CocoError('InvalidArgument', `SEV-SNP: Unsupported CPUID family ${family} model ${model}`);
}

export function tcbHexToPolicy(cpuidHex: string, tcbHex: string): TcbVersionPolicy {
  const product = snpProduct(cpuidHex);
  if (!/^([0-9a-fA-F]{2})*$/.test(tcbHex)) throw new CocoError('InvalidArgument', `the TCB version must be hex digits, got ${JSON.stringify(tcbHex)}`);
  // Printed most significant byte first: byte 0 of the structure is the last one shown.
  const raw = fromHex(tcbHex).reverse();
  if (raw.length !== TCB_VERSION_BYTES) throw new CocoError('InvalidArgument', `Invalid TCB version data size: ${raw.length} (a TCB version is ${TCB_VERSION_BYTES} bytes)`);
  const hexstring = tcbHex.toLowerCase();
  if (product === 'Turin') return { hexstring, microcode: raw[7]!, snp: raw[3]!, tee: raw[2]!, boot_loader: raw[1]!, fmc: raw[0]! };
  return { hexstring, microcode: raw[7]!, snp: raw[6]!, tee: raw[1]!, boot_loader: raw[0]! };
}

// CCF's `ccf.tcbHexToPolicy(cpuid, tcbHex)`: an AMD SEV-SNP TCB version as attestation reports and
// AMD's tools print it (8 bytes, little-endian, in hex) read into the fields of the product the CPUID
// names. Coco runs no SNP node, but constitutions use it to set minimum TCB versions
// (`set_snp_minimum_tcb_version_hex`), and the layout differs between products.

import { snpProductOf, tcbFieldsOf, type SnpProduct } from '../attestation/snp-tcb.js';
import { fromHex } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';

/** In CCF's key order; `fmc` only on Turin. */
export interface TcbVersionPolicy {
  hexstring: string;
  microcode: number;
  snp: number;
  tee: number;
  boot_loader: number;
  fmc?: number;
}

/** The product of an AMD CPUID (`Fn0000_0001_EAX`, as 8 hex digits: "00a00f11" is Milan). */
export function snpProduct(cpuidHex: string): SnpProduct {
  if (!/^[0-9a-fA-F]{8}$/.test(cpuidHex)) throw new CocoError('InvalidArgument', `the CPUID must be 8 hex digits (4 bytes), got ${JSON.stringify(cpuidHex)}`);
  const eax = Number.parseInt(cpuidHex, 16);
  return snpProductOf(((eax >>> 8) & 0xf) + ((eax >>> 20) & 0xff), (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf));
}

export function tcbHexToPolicy(cpuidHex: string, tcbHex: string): TcbVersionPolicy {
  const product = snpProduct(cpuidHex);
  if (!/^([0-9a-fA-F]{2})*$/.test(tcbHex)) throw new CocoError('InvalidArgument', `the TCB version must be hex digits, got ${JSON.stringify(tcbHex)}`);
  // Printed most significant byte first: byte 0 of the structure is the last one shown.
  const { microcode, snp, tee, boot_loader, fmc } = tcbFieldsOf(product, fromHex(tcbHex).reverse());
  const hexstring = tcbHex.toLowerCase();
  return fmc === undefined ? { hexstring, microcode, snp, tee, boot_loader } : { hexstring, microcode, snp, tee, boot_loader, fmc };
}

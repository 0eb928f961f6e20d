// AMD SEV-SNP products and their TCB versions. A TCB version is 8 bytes whose fields sit at places
// that depend on the product: Milan and Genoa put the boot loader first and the SNP firmware and
// microcode last; Turin adds an FMC byte in front and moves the others up.

import { CocoError } from '../errors.js';

export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';

export const TCB_VERSION_BYTES = 8;

/** The fields of a TCB version; `fmc` only on Turin. */
export type TcbFields = {
  boot_loader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
};

/** The product of an AMD CPU family and model, as attestation reports (version 3 on) and CPUIDs name them. */
export function snpProductOf(family: number, model: number): SnpProduct {
  if (family === 0x19 && model === 0x01) return 'Milan';
  if (family === 0x19 && model === 0x11) return 'Genoa';
  if (family === 0x1a && model === 0x01) return 'Turin';
  throw new CocoError('InvalidArgument', `SEV-SNP: Unsupported CPUID family ${family} model ${model}`);
}

/** The fields of `raw`, a TCB version in the byte order of attestation reports. */
export function tcbFieldsOf(product: SnpProduct, raw: Uint8Array): TcbFields {
  if (raw.length !== TCB_VERSION_BYTES) throw new CocoError('InvalidArgument', `Invalid TCB version data size: ${raw.length} (a TCB version is ${TCB_VERSION_BYTES} bytes)`);
  if (product === 'Turin') return { boot_loader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]!, fmc: raw[0]! };
  return { boot_loader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! };
}

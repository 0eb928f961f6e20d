// `coco keygen`: creates a member or user identity like CCF's keygenerator.sh: NAME_privk.pem
// (PKCS#8 EC, mode 0600) and a self-signed NAME_cert.pem (CN=NAME, 365 days from now), optionally an
// RSA-2048 encryption key pair for recovery shares, and prints the ID (SHA-256 of the cert DER).
// It never overwrites: if any target file exists, nothing is written.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { certificateId } from '../crypto/entity-id.js';
import { generateKeyPair, type CurveName } from '../crypto/signing.js';
import { createSelfSignedCertificate } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { fileErrorReason } from './file-error.js';
import { argumentProblem, refuseExtraArguments } from './usage-error.js';
import { makeDirectory } from '../node/make-directory.js';

export const KEYGEN_VALIDITY_DAYS = 365;
export const ENCRYPTION_KEY_BITS = 2048;
/** X.520 bounds a common name to 64 characters. */
export const NAME_CHARS_MAX = 64;
const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
/** Letters, digits, '_', '-', '.', not starting with '.': a file name on every platform, and a CN. */
const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

const CURVES: Record<string, CurveName> = { secp384r1: 'P-384', secp256r1: 'P-256' };
const CURVE_DEFAULT = 'secp384r1';

export const KEYGEN_USAGE = `Usage: coco keygen --name NAME [--gen-enc-key] [--curve secp384r1|secp256r1] [--dir DIR]

Creates an identity for a member or user, like CCF's keygenerator.sh:
  NAME_privk.pem      EC private key (PKCS#8, file mode 0600)
  NAME_cert.pem       self-signed certificate, CN=NAME, valid from now for ${KEYGEN_VALIDITY_DAYS} days
and prints its member/user ID (SHA-256 of the certificate DER).

  --name NAME     Name of the identity (letters, digits, '_', '-', '.'; at most ${NAME_CHARS_MAX})
  --gen-enc-key   Also create an RSA-${ENCRYPTION_KEY_BITS} encryption key pair for recovery shares:
                  NAME_enc_privk.pem (mode 0600) and NAME_enc_pubk.pem
  --curve CURVE   secp384r1 (default) or secp256r1
  --dir DIR       Write the files into DIR (created if missing; default: the current directory)
  -h, --help      Show this help
Existing files are never overwritten.
`;

export interface KeygenOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const PROCESS_OUTPUT: KeygenOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export interface KeygenRequest {
  name: string;
  curve: CurveName;
  encryptionKey: boolean;
  dir: string;
}

interface GeneratedFile {
  label: string;
  path: string;
  content: string;
  mode: number;
}

/** Runs `coco keygen` with the arguments after `keygen`; returns the exit status (0, 1 failure, 2 usage). */
export async function runKeygen(args: string[], output: KeygenOutput = PROCESS_OUTPUT): Promise<number> {
  let request: KeygenRequest | 'help';
  try {
    request = parseKeygenArgs(args);
  } catch (error) {
    output.err(`coco keygen: ${argumentProblem(error, 'keygen')}\n\n${KEYGEN_USAGE}`);
    return 2;
  }
  if (request === 'help') {
    output.out(KEYGEN_USAGE);
    return 0;
  }
  try {
    const { files, id } = writeIdentity(request);
    for (const file of files) output.out(`${file.label.padEnd(24)}${file.path}\n`);
    output.out(`${'ID (SHA-256 of cert):'.padEnd(24)}${id}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    output.err(`coco keygen: ${error.message}\n`);
    return 1;
  }
}

function parseKeygenArgs(args: string[]): KeygenRequest | 'help' {
  const { values, positionals } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'gen-enc-key': { type: 'boolean' },
      curve: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return 'help';
  refuseExtraArguments(positionals, 0, KEYGEN_USAGE);
  const name = values.name;
  if (name === undefined) throw new Error('--name is required');
  if (name.length > NAME_CHARS_MAX || !NAME_PATTERN.test(name)) {
    throw new Error(`--name takes letters, digits, '_', '-' and '.' (not first), at most ${NAME_CHARS_MAX} characters; got "${name}"`);
  }
  const curveName = values.curve ?? CURVE_DEFAULT;
  const curve = CURVES[curveName];
  if (curve === undefined) throw new Error(`--curve takes ${Object.keys(CURVES).join(' or ')}, not "${curveName}"`);
  return { name, curve, encryptionKey: values['gen-enc-key'] === true, dir: values.dir ?? '.' };
}

/** Creates NAME_privk.pem and NAME_cert.pem (and the encryption key pair if asked) in the request's directory. */
export function writeIdentity(request: KeygenRequest): { files: GeneratedFile[]; id: string } {
  const generated = generate(request);
  writeAll(request.dir, generated.files);
  return generated;
}

function generate(request: KeygenRequest): { files: GeneratedFile[]; id: string } {
  const { name, dir } = request;
  const keyPair = generateKeyPair(request.curve);
  const certPem = createSelfSignedCertificate({
    subjectCn: name,
    keyPair,
    validFrom: new Date(),
    validityDays: KEYGEN_VALIDITY_DAYS,
    isCa: false,
  });
  const files: GeneratedFile[] = [
    { label: 'Private key:', path: join(dir, `${name}_privk.pem`), content: keyPair.privateKeyPem, mode: PRIVATE_FILE_MODE },
    { label: 'Certificate:', path: join(dir, `${name}_cert.pem`), content: certPem, mode: PUBLIC_FILE_MODE },
  ];
  if (request.encryptionKey) {
    const encryption = generateKeyPairSync('rsa', {
      modulusLength: ENCRYPTION_KEY_BITS,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    files.push(
      { label: 'Encryption private key:', path: join(dir, `${name}_enc_privk.pem`), content: encryption.privateKey, mode: PRIVATE_FILE_MODE },
      { label: 'Encryption public key:', path: join(dir, `${name}_enc_pubk.pem`), content: encryption.publicKey, mode: PUBLIC_FILE_MODE },
    );
  }
  return { files, id: certificateId(certPem) };
}

/** Writes every file or none: refuses if any exists, and removes what it wrote if a later write fails. */
function writeAll(dir: string, files: GeneratedFile[]): void {
  const existing = files.filter((file) => existsSync(file.path)).map((file) => file.path);
  if (existing.length > 0) {
    throw new CocoError('FileExists', `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; choose another --name or --dir, or remove the old files`);
  }
  try {
    makeDirectory(dir);
  } catch (cause) {
    // EEXIST: a file is where the directory would be.
    const reason = (cause as NodeJS.ErrnoException).code === 'EEXIST' ? 'it is a file, not a directory' : fileErrorReason(cause);
    throw new CocoError('WriteFailed', `cannot create --dir ${dir}: ${reason}; pass another --dir`, { cause });
  }
  const written: string[] = [];
  try {
    for (const file of files) {
      // 'wx' fails if the file appeared meanwhile; the mode applies at creation, before any byte is written.
      writeFileSync(file.path, file.content, { mode: file.mode, flag: 'wx' });
      written.push(file.path);
    }
  } catch (cause) {
    for (const path of written) rmSync(path, { force: true });
    const code = (cause as { code?: string }).code === 'EEXIST' ? 'FileExists' : 'WriteFailed';
    throw new CocoError(code, `cannot write the identity files: ${fileErrorReason(cause)}`, { cause });
  }
}

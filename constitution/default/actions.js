// Coco's default constitution, part 1 of 4: every proposal action, by CCF's names and argument shapes.
// `validate(args)` checks the arguments strictly and throws an Error naming the argument at fault;
// `apply(args, proposalId)` writes the `public:ccf.gov.*` tables in CCF's encodings, or asks the node
// to act (`ccf.node`, `ccf.network`, governance effects). Plain ES2020: no imports, no Node or Web APIs.
/* global ccf */

// ---------------------------------------------------------------------------------------------------
// Tables and limits

const Tables = {
  constitution: "public:ccf.gov.constitution",
  membersCerts: "public:ccf.gov.members.certs",
  membersEncryptionPublicKeys: "public:ccf.gov.members.encryption_public_keys",
  membersInfo: "public:ccf.gov.members.info",
  membersAcks: "public:ccf.gov.members.acks",
  usersCerts: "public:ccf.gov.users.certs",
  usersInfo: "public:ccf.gov.users.info",
  nodesInfo: "public:ccf.gov.nodes.info",
  nodesEndorsedCertificates: "public:ccf.gov.nodes.endorsed_certificates",
  snpMeasurements: "public:ccf.gov.nodes.snp.measurements",
  snpHostData: "public:ccf.gov.nodes.snp.host_data",
  snpUvmEndorsements: "public:ccf.gov.nodes.snp.uvm_endorsements",
  snpTcbVersions: "public:ccf.gov.nodes.snp.tcb_versions",
  virtualMeasurements: "public:ccf.gov.nodes.virtual.measurements",
  virtualHostData: "public:ccf.gov.nodes.virtual.host_data",
  serviceInfo: "public:ccf.gov.service.info",
  serviceConfig: "public:ccf.gov.service.config",
  modules: "public:ccf.gov.modules",
  modulesBytecode: "public:ccf.gov.modules_quickjs_bytecode",
  endpoints: "public:ccf.gov.endpoints",
  interpreterFlush: "public:ccf.gov.interpreter.flush",
  jsRuntimeOptions: "public:ccf.gov.js_runtime_options",
  caCertBundles: "public:ccf.gov.tls.ca_cert_bundles",
  proposalsInfo: "public:ccf.gov.proposals_info",
  jwtIssuers: "public:ccf.gov.jwt.issuers",
  jwtPublicSigningKeys: "public:ccf.gov.jwt.public_signing_keys_metadata_v2",
  ethereumAccounts: "public:ccf.gov.ethereum.accounts",
  ethereumBalances: "public:ccf.gov.ethereum.balances",
  ethereumAllowedSenders: "public:ccf.gov.ethereum.allowed_senders",
  signatures: "public:ccf.internal.signatures",
  recoveryShares: "public:ccf.internal.recovery_shares",
};

/** Single-value tables keep their value under eight zero bytes (u64 0). */
const SINGLETON_KEY_BYTES = 8;
/** Shamir shares are indexed by one byte: at most 255 recovery members, threshold at most 254. */
const RECOVERY_MEMBERS_MAX = 255;
const RECOVERY_THRESHOLD_MAX = 254;
/** Members' share-encryption keys and JWT signing keys: RSA below 2048 bits is refused. */
const RSA_KEY_BITS_MIN = 2048;
/** The EC curves of JWT signing keys (JWK `crv` names). */
const JWT_EC_CURVES = ["P-256", "P-384", "P-521"];
/** What CCF's service configuration defaults the certificate validity maxima to. */
const CERTIFICATE_VALIDITY_DAYS_DEFAULT_MAX = 365;
/** Bounds of `recent_cose_proposals_window_size` (replay protection). */
const RECENT_PROPOSALS_WINDOW_MIN = 1;
const RECENT_PROPOSALS_WINDOW_MAX = 10000;
/** Rejected strings longer than this are described by length, not echoed (PEMs, module sources). */
const ECHOED_CHARS_MAX = 80;
/** RFC 5280: a UTCTime holds the years 1950 to 2049; two-digit years below 50 are 20YY. */
const UTC_TIME_YEAR_MIN = 1950;
const UTC_TIME_CENTURY_PIVOT = 50;
const UTC_TIME_YEAR_MAX = 2049;
const MINUTE_MS = 60000;

const SNP_MEASUREMENT_BYTES = 48;
const SHA256_BYTES = 32;
const SNP_CPUID_BYTES = 4;
const SNP_TCB_VERSION_BYTES = 8;
const TCB_COMPONENT_MAX = 255;
const ALLOWED_TO_JOIN = "AllowedToJoin";
const ALLOWED_TO_SEND = "AllowedToSend";
/** Ethereum addresses an action may name at once (accounts to fund or freeze, senders to allow). */
const ETHEREUM_ADDRESSES_PER_ACTION_MAX = 1000;
/** Balances are 256-bit words: 2^256 - 1 has 78 decimal digits. */
const WEI_MAX = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
const HTTP_VERBS = ["get", "put", "post", "delete", "patch", "head", "options", "trace", "connect"];

// ---------------------------------------------------------------------------------------------------
// KV access, in CCF's encodings: names and IDs as raw UTF-8 keys, JSON values, PEMs as raw bytes

function singletonKey() {
  return new ArrayBuffer(SINGLETON_KEY_BYTES);
}

function readJson(table, key) {
  const value = ccf.kv[table].get(key);
  return value === undefined ? undefined : ccf.bufToJsonCompatible(value);
}

function writeJson(table, key, value) {
  ccf.kv[table].set(key, ccf.jsonCompatibleToBuf(value));
}

/**
 * What CCF's constitution does after an action that changes what proposals mean (a new constitution,
 * a newly allowed node code or attestation): every other open proposal was validated and voted on
 * under the old rules, so it is marked Dropped.
 */
function dropOtherOpenProposals(proposalId) {
  const dropped = [];
  ccf.kv[Tables.proposalsInfo].forEach((value, key) => {
    const info = ccf.bufToJsonCompatible(value);
    if (ccf.bufToStr(key) !== proposalId && info.state === "Open") dropped.push([key, { ...info, state: "Dropped" }]);
  });
  for (const [key, info] of dropped) writeJson(Tables.proposalsInfo, key, info);
}

function writeText(table, key, text) {
  ccf.kv[table].set(key, ccf.strToBuf(text));
}

function serviceInfo() {
  const info = readJson(Tables.serviceInfo, singletonKey());
  if (info === undefined) throw new Error(`${Tables.serviceInfo} is empty: the service has no genesis transaction`);
  return info;
}

function serviceConfig() {
  const config = readJson(Tables.serviceConfig, singletonKey());
  if (config === undefined) throw new Error(`${Tables.serviceConfig} is empty: the service has no genesis transaction`);
  return config;
}

/** Hex Merkle root of the latest signature transaction, "" before the first one. */
function latestSignatureRoot() {
  const signature = readJson(Tables.signatures, singletonKey());
  return signature !== undefined && typeof signature.root === "string" ? signature.root : "";
}

function assertNotRecovering(what) {
  const status = serviceInfo().status;
  if (status === "Recovering" || status === "WaitingForRecoveryShares") {
    throw new Error(`cannot ${what} while the service is ${status}: finish the recovery first`);
  }
}

/** Whether two PEM certificates are the same certificate (same DER), whatever their line layout. */
function sameCertificate(a, b) {
  return ccf.pemToId(a) === ccf.pemToId(b);
}

function assertServiceIdentity(pem) {
  if (!sameCertificate(pem, serviceInfo().cert)) {
    throw new Error(`args.service_identity is not the current service certificate (${Tables.serviceInfo})`);
  }
}

function hexOf(buffer) {
  let hex = "";
  for (const byte of new Uint8Array(buffer)) hex += (byte < 16 ? "0" : "") + byte.toString(16);
  return hex;
}

// ---------------------------------------------------------------------------------------------------
// Argument checks: each check is `(value, path)` and throws an Error that names `path`

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasOwn(object, name) {
  return Object.prototype.hasOwnProperty.call(object, name);
}

function describe(value) {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string" && value.length > ECHOED_CHARS_MAX) return `a string of ${value.length} characters`;
  return typeof value === "string" ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}

function reject(path, expectation, value) {
  throw new Error(`${path} must be ${expectation}, got ${describe(value)}`);
}

/** Absent and null are the same for an optional argument (CCF's tools send `null` for "not given"). */
function optional(check) {
  const checkIfGiven = (value, path) => {
    if (value !== undefined && value !== null) check(value, path);
  };
  checkIfGiven.isOptional = true;
  return checkIfGiven;
}

/** Checks an object field by field; unknown fields are refused unless `othersAllowed`. */
function checkFields(value, path, spec, othersAllowed) {
  const names = Object.keys(spec);
  if (!isPlainObject(value)) reject(path, `an object with ${names.join(", ")}`, value);
  if (!othersAllowed) {
    for (const name of Object.keys(value)) {
      if (!hasOwn(spec, name)) throw new Error(`${path}.${name} is not expected (${path} takes ${names.join(", ")})`);
    }
  }
  for (const name of names) {
    const field = value[name];
    const check = spec[name];
    if ((field === undefined || (field === null && !check.allowsNull)) && !check.isOptional) throw new Error(`${path}.${name} is required`);
    check(field, `${path}.${name}`);
  }
}

function fields(spec) {
  return (value, path) => checkFields(value, path, spec, false);
}

/** The arguments of an action; an action without arguments takes none, `null` or `{}`. */
function checkArgs(args, spec) {
  if (Object.keys(spec).length === 0) {
    const none = args === undefined || args === null || (isPlainObject(args) && Object.keys(args).length === 0);
    if (!none) reject("args", "absent or {} (this action takes no arguments)", args);
    return;
  }
  // Stricter than CCF, which ignores unknown arguments: a misspelled one would otherwise be lost silently.
  checkFields(args, "args", spec, false);
}

function anyJson() {
  // Any JSON value is accepted; presence is checked by checkFields.
}

/** CCF's checkType "object": an object, an array or null (given, but empty). */
function objectOrNull(value, path) {
  if (value === undefined || typeof value !== "object") reject(path, "a JSON object or null", value);
}
objectOrNull.allowsNull = true;

function nonEmptyString(value, path) {
  if (typeof value !== "string" || value.length === 0) reject(path, "a non-empty string", value);
}

function anyString(value, path) {
  if (typeof value !== "string") reject(path, "a string", value);
}

function boolean(value, path) {
  if (typeof value !== "boolean") reject(path, "true or false", value);
}

function jsonObject(value, path) {
  if (!isPlainObject(value)) reject(path, "a JSON object", value);
}

function integerIn(min, max) {
  return (value, path) => {
    if (!Number.isSafeInteger(value) || value < min || value > max) reject(path, `an integer from ${min} to ${max}`, value);
  };
}

const positiveInteger = integerIn(1, Number.MAX_SAFE_INTEGER);

function integer(value, path) {
  if (!Number.isSafeInteger(value)) reject(path, "an integer", value);
}

function oneOf(...choices) {
  return (value, path) => {
    if (!choices.includes(value)) reject(path, `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
  };
}

function arrayOf(check) {
  return (value, path) => {
    if (!Array.isArray(value)) reject(path, "an array", value);
    value.forEach((item, i) => check(item, `${path}[${i}]`));
  };
}

function lowerHex(bytes) {
  const pattern = new RegExp(`^[0-9a-f]{${bytes * 2}}$`);
  return (value, path) => {
    if (typeof value !== "string" || !pattern.test(value)) reject(path, `${bytes * 2} lowercase hex digits (${bytes} bytes)`, value);
  };
}

/** Member, user and node IDs: SHA-256 as 64 lowercase hex digits. */
const entityId = lowerHex(SHA256_BYTES);

const BASE64_BODY = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----/g;

/**
 * The labels of the PEM blocks of `text`, or null if it is not only well-formed PEM blocks. Trailing
 * NULs are tolerated: older CCF services recorded their certificate with its C string terminator.
 */
function pemLabels(pemText) {
  const text = pemText.replace(/\0+$/, "");
  const labels = [];
  let end = 0;
  PEM_BLOCK.lastIndex = 0;
  for (let match = PEM_BLOCK.exec(text); match !== null; match = PEM_BLOCK.exec(text)) {
    const body = match[2].replace(/\s+/g, "");
    const wellFormed = match[1] === match[3] && body.length > 0 && BASE64_BODY.test(body);
    if (!wellFormed || text.slice(end, match.index).trim() !== "") return null;
    labels.push(match[1]);
    end = PEM_BLOCK.lastIndex;
  }
  return text.slice(end).trim() === "" ? labels : null;
}

function pemBlock(label) {
  return (value, path) => {
    const labels = typeof value === "string" ? pemLabels(value) : null;
    if (labels === null || labels.length !== 1 || labels[0] !== label) reject(path, `one PEM "${label}" block`, value);
  };
}

const certificatePemBlock = pemBlock("CERTIFICATE");

function certificate(value, path) {
  certificatePemBlock(value, path);
  if (!ccf.crypto.isValidX509CertBundle(value)) throw new Error(`${path} is not a parsable X.509 certificate`);
}

/** As CCF 7: a bundle that TLS trusts holds root CAs only (self-signed, CA), not intermediates or leaves. */
function rootCaBundle(value, path) {
  const labels = typeof value === "string" ? pemLabels(value) : null;
  if (labels === null || labels.length === 0 || labels.some((label) => label !== "CERTIFICATE")) {
    reject(path, 'one or more PEM "CERTIFICATE" blocks', value);
  }
  if (!ccf.crypto.isValidX509CertBundle(value)) throw new Error(`${path} holds a certificate that does not parse as X.509`);
  value.match(PEM_BLOCK).forEach((block, i) => {
    if (!ccf.crypto.isValidX509RootCACert(block)) throw new Error(`${path}[${i}] must be a self-signed (root) CA certificate`);
  });
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Bytes of unpadded base64url text (JWK fields), or null if it is not base64url. */
function base64UrlBytes(text) {
  if (typeof text !== "string" || text.length % 4 === 1) return null;
  const bytes = [];
  let bits = 0;
  let accumulator = 0;
  for (const char of text) {
    const sextet = BASE64URL_ALPHABET.indexOf(char);
    if (sextet < 0) return null;
    accumulator = ((accumulator << 6) | sextet) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((accumulator >> bits) & 0xff);
    }
  }
  return bytes;
}

/** Bit length of a big-endian unsigned integer. */
function bitLength(bytes) {
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first++;
  if (first === bytes.length) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first]));
}

function base64Url(value, path) {
  const bytes = base64UrlBytes(value);
  if (bytes === null || bytes.length === 0) reject(path, "base64url text", value);
}

function rsaModulusBits(n, path) {
  base64Url(n, path);
  const bits = bitLength(base64UrlBytes(n));
  if (bits < RSA_KEY_BITS_MIN) throw new Error(`${path} is a ${bits}-bit RSA modulus: at least ${RSA_KEY_BITS_MIN} bits are required`);
}

const publicKeyPemBlock = pemBlock("PUBLIC KEY");

function rsaPublicKey(value, path) {
  publicKeyPemBlock(value, path);
  let jwk;
  try {
    jwk = ccf.crypto.pubRsaPemToJwk(value);
  } catch (error) {
    throw new Error(`${path} is not an RSA public key (${error.message})`);
  }
  rsaModulusBits(jwk.n, `${path} (modulus)`);
}

const X5C_ENTRY = /^[A-Za-z0-9+/]+={0,2}$/;

const DER_CONTEXT_0 = 0xa0;
/** Public key algorithms (RFC 5280 SubjectPublicKeyInfo), by their DER object identifier contents in hex. */
const KEY_ALGORITHM_OIDS = { "2a864886f70d010101": "RSA", "2a8648ce3d0201": "EC" };
const EC_CURVE_OIDS = { "2a8648ce3d030107": "P-256", "2b81040022": "P-384", "2b81040023": "P-521" };

/** The DER element at `offset` of `bytes` (its tag and where its contents start and end), or null if it overruns `end`. */
function derElement(bytes, offset, end) {
  if (offset + 2 > end) return null;
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length > 0x7f) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 3 || start + lengthBytes > end) return null;
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + bytes[start + i];
    start += lengthBytes;
  }
  return start + length > end ? null : { tag: bytes[offset], start, end: start + length };
}

/** The elements inside a constructed DER element, in order, or null if one is malformed. */
function derChildren(bytes, parent) {
  if (!parent) return null;
  const children = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = derElement(bytes, offset, parent.end);
    if (child === null) return null;
    children.push(child);
    offset = child.end;
  }
  return children;
}

function derContentsHex(bytes, element) {
  return element ? hexOf(bytes.slice(element.start, element.end)) : "";
}

/**
 * The key of a DER X.509 certificate: `{kty: "RSA", bits}`, `{kty: "EC", crv}` (crv null for a
 * curve other than JWT_EC_CURVES) or null for another kind. Certificate > tbsCertificate >
 * subjectPublicKeyInfo (RFC 5280, 4.1); an RSA key's BIT STRING holds RSAPublicKey { modulus, ... }
 * (RFC 8017, A.1.1), an EC key's algorithm parameters name its curve (RFC 5480, 2.1.1).
 */
function certificateKey(der) {
  const tbs = derChildren(der, derElement(der, 0, der.length))?.[0];
  const fields = derChildren(der, tbs);
  if (fields === null || fields.length === 0) return null;
  // The version ([0]) is optional; then serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
  const [algorithm, bitString] = derChildren(der, fields[fields[0].tag === DER_CONTEXT_0 ? 6 : 5]) ?? [];
  const [oid, parameters] = derChildren(der, algorithm) ?? [];
  const kty = KEY_ALGORITHM_OIDS[derContentsHex(der, oid)];
  if (kty === "EC") return { kty, crv: EC_CURVE_OIDS[derContentsHex(der, parameters)] ?? null };
  if (kty !== "RSA" || bitString === undefined) return null;
  // The BIT STRING's first byte counts its unused bits (0).
  const modulus = derChildren(der, derElement(der, bitString.start + 1, bitString.end))?.[0];
  return modulus === undefined ? null : { kty, bits: bitLength(der.slice(modulus.start, modulus.end)) };
}

/** A JWK's x5c[0] (base64 DER): a certificate of a key of the JWK's kty, as `jsonWebKey` takes one. */
function x5cKey(certificateBase64, path, jwk) {
  const where = `${path} (kid ${JSON.stringify(jwk.kid)})`;
  const pem = `-----BEGIN CERTIFICATE-----\n${certificateBase64}\n-----END CERTIFICATE-----`;
  if (!ccf.crypto.isValidX509CertBundle(pem)) throw new Error(`${where} is not a parsable X.509 certificate`);
  const key = certificateKey(base64UrlBytes(certificateBase64.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")));
  if (key === null || key.kty !== jwk.kty) throw new Error(`${where} holds no ${jwk.kty} key, as kty ${JSON.stringify(jwk.kty)} says it must`);
  if (key.kty === "RSA" && key.bits < RSA_KEY_BITS_MIN) throw new Error(`${where} holds a ${key.bits}-bit RSA key: at least ${RSA_KEY_BITS_MIN} bits are required`);
  if (key.kty === "EC" && key.crv === null) throw new Error(`${where} holds an EC key on a curve other than ${JWT_EC_CURVES.join(", ")}`);
}

/**
 * A JWT signing key, as the node stores keys (also those auto-refresh fetches): RSA of at least
 * RSA_KEY_BITS_MIN bits or EC on JWT_EC_CURVES, by its own members (n/e, crv/x/y) or, as CCF takes
 * a key only without them, by the certificate x5c[0].
 */
function jsonWebKey(value, path) {
  if (!isPlainObject(value)) reject(path, "a JSON Web Key object", value);
  nonEmptyString(value.kid, `${path}.kid`);
  oneOf("RSA", "EC")(value.kty, `${path}.kty`);
  if (value.x5c !== undefined) {
    arrayOf((entry, entryPath) => {
      if (typeof entry !== "string" || !X5C_ENTRY.test(entry)) reject(entryPath, "a base64 DER certificate", entry);
    })(value.x5c, `${path}.x5c`);
    if (value.x5c.length === 0) reject(`${path}.x5c`, "a non-empty array", value.x5c);
  }
  if (value.kty === "RSA" && value.n !== undefined) {
    rsaModulusBits(value.n, `${path}.n (kid ${JSON.stringify(value.kid)})`);
    base64Url(value.e, `${path}.e`);
  } else if (value.kty === "EC" && value.x !== undefined) {
    oneOf(...JWT_EC_CURVES)(value.crv, `${path}.crv`);
    base64Url(value.x, `${path}.x`);
    base64Url(value.y, `${path}.y`);
  } else if (value.x5c !== undefined) {
    x5cKey(value.x5c[0], `${path}.x5c[0]`, value);
  } else {
    throw new Error(`${path} needs ${value.kty === "RSA" ? '"n" and "e"' : '"crv", "x" and "y"'} or "x5c"`);
  }
}

function jwks(value, path) {
  checkFields(value, path, { keys: arrayOf(jsonWebKey) }, true);
  const kids = new Set();
  value.keys.forEach((key, i) => {
    if (kids.has(key.kid)) throw new Error(`${path}.keys[${i}].kid ${JSON.stringify(key.kid)} appears twice`);
    kids.add(key.kid);
  });
}

/** An auto-refreshed issuer's keys are fetched from `<issuer>/.well-known/`: as in CCF, no query or fragment. */
function issuerUrl(value, path) {
  if (typeof value !== "string" || !/^https:\/\/[^\s/?#]+[^\s?#]*$/.test(value)) reject(path, "an https:// URL without query or fragment when auto_refresh is true", value);
}

function didString(value, path) {
  if (typeof value !== "string" || !/^did:[a-z0-9]+:\S+$/.test(value)) reject(path, 'a DID ("did:<method>:<id>")', value);
}

/** An Ethereum address, "0x" and 40 hex digits in any case (EIP-55 checksums are not checked). */
function ethereumAddress(value, path) {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) reject(path, 'an Ethereum address ("0x" and 40 hex digits)', value);
}

/** Wei as a decimal string without leading zeros, from 0 to 2^256 - 1 (JSON numbers lose precision above 2^53). */
function weiString(value, path) {
  const valid = typeof value === "string" && /^(0|[1-9][0-9]*)$/.test(value) &&
    (value.length < WEI_MAX.length || (value.length === WEI_MAX.length && value <= WEI_MAX));
  if (!valid) reject(path, 'a decimal string of wei from "0" to 2^256 - 1 (e.g. "1000000000000000000" for 1 ether)', value);
}

/** A list of 1 to ETHEREUM_ADDRESSES_PER_ACTION_MAX items, each naming a different address (`addressOf`). */
function ethereumAddressList(check, addressOf) {
  return (value, path) => {
    if (!Array.isArray(value) || value.length === 0 || value.length > ETHEREUM_ADDRESSES_PER_ACTION_MAX) {
      reject(path, `an array of 1 to ${ETHEREUM_ADDRESSES_PER_ACTION_MAX} entries`, value);
    }
    const seen = {};
    value.forEach((item, i) => {
      check(item, `${path}[${i}]`);
      const address = addressOf(item).toLowerCase();
      if (hasOwn(seen, address)) throw new Error(`${path}[${i}] names ${address} again (first at ${path}[${seen[address]}])`);
      seen[address] = i;
    });
  };
}

/** The key of an address in the Ethereum governance tables: its lowercase text. */
function ethereumKey(address) {
  return ccf.strToBuf(address.toLowerCase());
}

const ethereumAccountChange = (value, path) => {
  checkFields(value, path, { address: ethereumAddress, balance: optional(weiString), frozen: optional(boolean) }, false);
  if ((value.balance === undefined || value.balance === null) && (value.frozen === undefined || value.frozen === null)) {
    throw new Error(`${path} must set balance, frozen or both`);
  }
};

const ethereumAddresses = ethereumAddressList(ethereumAddress, (address) => address);

function decimalString(value, path) {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value)) reject(path, 'a string of decimal digits (e.g. "101")', value);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2}):?(\d{2}))$/;

function twoDigits(n) {
  return (n < 10 ? "0" : "") + String(n);
}

/**
 * `valid_from` as the ASN.1 UTCTime "YYMMDDHHMMSSZ" the node expects. CCF's tools also send
 * GeneralizedTime and ISO 8601 ("2025-03-27T20:54:49.220469+00:00"); those are converted to UTC
 * (fractions of a second dropped: validity has a granularity of one day).
 */
function utcTimeOf(value, path) {
  let match = typeof value === "string" ? UTC_TIME.exec(value) : null;
  let year;
  let offsetMinutes = 0;
  if (match !== null) {
    const yy = Number(match[1]);
    year = yy < UTC_TIME_CENTURY_PIVOT ? 2000 + yy : 1900 + yy;
  } else {
    match = typeof value === "string" ? GENERALIZED_TIME.exec(value) || ISO_DATE_TIME.exec(value) : null;
    if (match === null) {
      reject(path, 'a UTCTime "YYMMDDHHMMSSZ", a GeneralizedTime "YYYYMMDDHHMMSSZ" or an ISO 8601 date-time with a time zone', value);
    }
    year = Number(match[1]);
    if (match[8] !== undefined) {
      offsetMinutes = (match[8] === "-" ? -1 : 1) * (Number(match[9]) * 60 + Number(match[10]));
    }
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number);
  const stated = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const isCalendarTime = stated.getUTCFullYear() === year && stated.getUTCMonth() === month - 1 && stated.getUTCDate() === day
    && stated.getUTCHours() === hour && stated.getUTCMinutes() === minute && stated.getUTCSeconds() === second;
  if (!isCalendarTime) throw new Error(`${path} ${JSON.stringify(value)} is not a calendar date and time`);
  const utc = new Date(stated.getTime() - offsetMinutes * MINUTE_MS);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < UTC_TIME_YEAR_MIN || utcYear > UTC_TIME_YEAR_MAX) {
    throw new Error(`${path} ${JSON.stringify(value)} is outside the years a UTCTime holds (${UTC_TIME_YEAR_MIN} to ${UTC_TIME_YEAR_MAX})`);
  }
  const parts = [utcYear % 100, utc.getUTCMonth() + 1, utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds()];
  return `${parts.map(twoDigits).join("")}Z`;
}

function validFrom(value, path) {
  utcTimeOf(value, path);
}

/** Days of validity for a renewed certificate: the service's maximum unless fewer are asked for. */
function validityDays(requested, maximumField) {
  const configured = serviceConfig()[maximumField];
  const maximum = Number.isSafeInteger(configured) ? configured : CERTIFICATE_VALIDITY_DAYS_DEFAULT_MAX;
  if (requested === undefined || requested === null) return maximum;
  if (requested > maximum) {
    throw new Error(`args.validity_period_days ${requested} is above the service's ${maximumField} (${maximum})`);
  }
  return requested;
}

function validityPeriodDays(maximumField) {
  return optional((value, path) => {
    positiveInteger(value, path);
    validityDays(value, maximumField);
  });
}

// ---------------------------------------------------------------------------------------------------
// Members, nodes, recovery

function recoveryRoleOf(info) {
  return info.recovery_role === undefined ? "Participant" : info.recovery_role;
}

/** What a member with an encryption key holds once Active: a share, the whole key, or nothing. */
function holdingRole(role) {
  return role === "Participant" || role === "Owner" ? role : undefined;
}

/** Active members with an encryption key, by recovery role: those who hold a share or the whole key. */
function activeRecoveryMembers() {
  const counts = { Participant: 0, Owner: 0 };
  const encryptionKeys = ccf.kv[Tables.membersEncryptionPublicKeys];
  ccf.kv[Tables.membersInfo].forEach((value, key) => {
    const info = ccf.bufToJsonCompatible(value);
    const role = recoveryRoleOf(info);
    if (info.status === "Active" && role in counts && encryptionKeys.has(key)) counts[role]++;
  });
  return counts;
}

/**
 * Refuses a change of one Active recovery member that would leave the service unable to recover:
 * what stays must be participants up to the threshold, or else an owner (who holds the whole key)
 * with a threshold of 1, as recovery shares are issued. `from` and `to` are what the member holds
 * before and after (a holding role, or undefined); `change` names the change in the message.
 */
function assertRecoverableAfter(change, from, to) {
  const remaining = activeRecoveryMembers();
  if (from !== undefined) remaining[from]--;
  if (to !== undefined) remaining[to]++;
  const threshold = serviceConfig().recovery_threshold;
  if (remaining.Participant === 0 && remaining.Owner === 0) {
    throw new Error(`${change} would leave no active recovery member to hold the ledger secret: add another recovery member first`);
  }
  if (remaining.Participant > 0 ? remaining.Participant < threshold : threshold > 1) {
    throw new Error(`${change} would leave ${remaining.Participant} active recovery participants, below the recovery threshold ${threshold}: lower the threshold or add recovery members first`);
  }
}

/** Whether the latest recovery shares include one (or the whole key) for the member. */
function holdsIssuedShare(memberId) {
  const issued = readJson(Tables.recoveryShares, singletonKey());
  return issued !== undefined && hasOwn(issued.encrypted_shares, memberId);
}

function setRecoveryThreshold(threshold) {
  const config = serviceConfig();
  if (config.recovery_threshold === threshold) return;
  assertNotRecovering("change the recovery threshold");
  const isOpen = serviceInfo().status === "Open";
  if (isOpen) {
    const participants = activeRecoveryMembers().Participant;
    if (threshold > participants) {
      throw new Error(`recovery threshold ${threshold} is above the ${participants} active recovery participants: add recovery members first`);
    }
  }
  config.recovery_threshold = threshold;
  writeJson(Tables.serviceConfig, singletonKey(), config);
  if (isOpen) ccf.node.triggerRecoverySharesRefresh();
}

function existingNode(nodeId) {
  const info = readJson(Tables.nodesInfo, ccf.strToBuf(nodeId));
  if (info === undefined) throw new Error(`node ${nodeId} does not exist`);
  return info;
}

/** Issues the node's service-endorsed certificate from the CSR it recorded when it joined. */
function endorseNode(nodeId, info, validFromText, requestedDays) {
  if (typeof info.certificate_signing_request !== "string") {
    throw new Error(`node ${nodeId} has no certificate signing request in ${Tables.nodesInfo}`);
  }
  const days = validityDays(requestedDays, "maximum_node_certificate_validity_days");
  const from = utcTimeOf(validFromText, "args.valid_from");
  const endorsed = ccf.network.generateEndorsedCertificate(info.certificate_signing_request, from, days);
  writeText(Tables.nodesEndorsedCertificates, ccf.strToBuf(nodeId), endorsed);
}

function countTrustedNodes() {
  let count = 0;
  ccf.kv[Tables.nodesInfo].forEach((value) => {
    if (ccf.bufToJsonCompatible(value).status === "Trusted") count++;
  });
  return count;
}

// ---------------------------------------------------------------------------------------------------
// JavaScript application bundles

function moduleName(value, path) {
  nonEmptyString(value, path);
  if (value.startsWith("/")) reject(path, 'a module name relative to the bundle (no leading "/")', value);
  // Imports resolve "." and ".." away, so a module named with them could never be loaded.
  if (value.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
    reject(path, 'a module name without empty, "." or ".." segments', value);
  }
}

/**
 * A policy's name, any string, as CCF's constitution takes it: a name no node knows fails only the
 * requests to its endpoint (CCF's own test apps still name removed policies on some endpoints).
 */
function authnPolicy(value, path) {
  if (typeof value === "string") return;
  checkFields(value, path, { all_of: arrayOf(anyString) }, false);
  if (value.all_of.length === 0) reject(`${path}.all_of`, "a non-empty array", value.all_of);
  // CCF's AND policy cannot hold one policy twice: every request to the endpoint would fail.
  value.all_of.forEach((name, i) => {
    if (value.all_of.indexOf(name) !== i) throw new Error(`${path}.all_of[${i}] ${JSON.stringify(name)} appears twice`);
  });
}

/** EndpointInfo from app.json: known fields are checked, others pass through as CCF stores them. */
const ENDPOINT_INFO_FIELDS = {
  js_module: nonEmptyString,
  js_function: nonEmptyString,
  forwarding_required: oneOf("sometimes", "always", "never"),
  redirection_strategy: optional(oneOf("none", "to_primary", "to_backup")),
  mode: oneOf("readwrite", "readonly", "historical"),
  authn_policies: arrayOf(authnPolicy),
  openapi: optional(jsonObject),
  openapi_hidden: optional(boolean),
  interpreter_reuse: optional(fields({ key: nonEmptyString })),
};

/** `public:ccf.gov.endpoints` key of an app.json route: upper-case verb, a space, the path. */
function endpointKey(verb, path) {
  return `${verb.toUpperCase()} ${path}`;
}

function bundle(value, path) {
  checkFields(value, path, {
    // As CCF's: app.json may carry more than its endpoints ($schema, an editor's notes).
    metadata: (metadata, metadataPath) => checkFields(metadata, metadataPath, { endpoints: jsonObject }, true),
    modules: arrayOf(fields({ name: moduleName, module: anyString })),
  }, false);
  const names = new Set();
  value.modules.forEach((entry, i) => {
    if (names.has(entry.name)) throw new Error(`${path}.modules[${i}].name ${JSON.stringify(entry.name)} appears twice`);
    names.add(entry.name);
  });
  const keys = new Set();
  for (const [route, verbs] of Object.entries(value.metadata.endpoints)) {
    const routePath = `${path}.metadata.endpoints[${JSON.stringify(route)}]`;
    if (!route.startsWith("/")) throw new Error(`${routePath}: an endpoint path must start with "/"`);
    jsonObject(verbs, routePath);
    for (const [verb, info] of Object.entries(verbs)) {
      const infoPath = `${routePath}.${verb}`;
      if (!HTTP_VERBS.includes(verb.toLowerCase())) reject(`${routePath} key`, `an HTTP method (${HTTP_VERBS.join(", ")})`, verb);
      const key = endpointKey(verb, route);
      if (keys.has(key)) throw new Error(`${infoPath}: endpoint ${JSON.stringify(key)} is defined twice`);
      keys.add(key);
      checkFields(info, infoPath, ENDPOINT_INFO_FIELDS, true);
      if (!names.has(info.js_module)) {
        throw new Error(`${infoPath}.js_module ${JSON.stringify(info.js_module)} is not one of the bundle's modules`);
      }
    }
  }
}

function clearApp() {
  ccf.kv[Tables.modules].clear();
  ccf.kv[Tables.modulesBytecode].clear();
  ccf.kv[Tables.endpoints].clear();
  // Nodes drop their cached interpreters, which hold the previous app's modules.
  writeJson(Tables.interpreterFlush, singletonKey(), true);
}

// ---------------------------------------------------------------------------------------------------
// JWT issuers

/** The issuer record CCF keeps: the action's arguments without the keys, auto_refresh always set. */
function jwtIssuerMetadata(args) {
  const metadata = {};
  for (const [name, value] of Object.entries(args)) {
    if (name !== "jwks") metadata[name] = value;
  }
  if (typeof metadata.auto_refresh !== "boolean") metadata.auto_refresh = false;
  return metadata;
}

// ---------------------------------------------------------------------------------------------------
// The actions

const noArgs = {};

export const actions = new Map([
  ["set_constitution", {
    validate(args) {
      checkArgs(args, { constitution: nonEmptyString });
      // As CCF 7.x: a constitution that cannot run would leave no way to replace it.
      ccf.gov.validateConstitution(args.constitution);
    },
    apply(args, proposalId) {
      writeJson(Tables.constitution, singletonKey(), args.constitution);
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["set_member", {
    validate(args) {
      checkArgs(args, {
        cert: certificate,
        encryption_pub_key: optional(rsaPublicKey),
        member_data: optional(objectOrNull),
        recovery_role: optional(oneOf("NonParticipant", "Participant", "Owner")),
      });
      if (args.recovery_role != null && args.encryption_pub_key == null) {
        throw new Error("args.recovery_role needs args.encryption_pub_key: only recovery members have a recovery role");
      }
    },
    apply(args) {
      const memberId = ccf.pemToId(args.cert);
      const key = ccf.strToBuf(memberId);
      const encryptionKeys = ccf.kv[Tables.membersEncryptionPublicKeys];
      const isRecoveryMember = args.encryption_pub_key != null;
      const role = isRecoveryMember ? (args.recovery_role != null ? args.recovery_role : "Participant") : undefined;
      if (isRecoveryMember || encryptionKeys.has(key)) assertNotRecovering("change recovery members");
      if (isRecoveryMember && !encryptionKeys.has(key) && encryptionKeys.size >= RECOVERY_MEMBERS_MAX) {
        throw new Error(`the service already has ${RECOVERY_MEMBERS_MAX} recovery members, the most recovery shares can serve`);
      }
      // Setting an existing member again may take away what it holds of the recovery secret: the
      // same safeguards as remove_member (CCF's set_member has none).
      const previous = readJson(Tables.membersInfo, key);
      const held = previous !== undefined && previous.status === "Active" && encryptionKeys.has(key) ? holdingRole(recoveryRoleOf(previous)) : undefined;
      const holds = holdingRole(role);
      if (held !== undefined && held !== holds) {
        assertRecoverableAfter(`setting member ${memberId} ${isRecoveryMember ? `with recovery_role ${role}` : "without an encryption key"}`, held, holds);
      }
      const heldShare = holds === undefined && holdsIssuedShare(memberId);
      writeText(Tables.membersCerts, key, args.cert);
      if (isRecoveryMember) writeText(Tables.membersEncryptionPublicKeys, key, args.encryption_pub_key);
      else encryptionKeys.delete(key);
      const info = { status: "Accepted" };
      if (args.member_data != null) info.member_data = args.member_data;
      if (isRecoveryMember) info.recovery_role = role;
      writeJson(Tables.membersInfo, key, info);
      // The member activates by acking this digest (or a fresher one from the state-digest endpoint).
      writeJson(Tables.membersAcks, key, { state_digest: latestSignatureRoot() });
      // No longer a recovery member, it must not open the ledger secret with the share it holds:
      // a new secret, with shares for the recovery members that remain, as remove_member does.
      if (heldShare) ccf.node.triggerLedgerRekey();
    },
  }],

  ["remove_member", {
    validate(args) {
      checkArgs(args, { member_id: entityId });
    },
    apply(args) {
      const key = ccf.strToBuf(args.member_id);
      const info = readJson(Tables.membersInfo, key);
      if (info === undefined) return;
      const isRecoveryMember = ccf.kv[Tables.membersEncryptionPublicKeys].has(key);
      if (isRecoveryMember) assertNotRecovering("remove a recovery member");
      const held = isRecoveryMember && info.status === "Active" ? holdingRole(recoveryRoleOf(info)) : undefined;
      if (held !== undefined) assertRecoverableAfter(`removing member ${args.member_id}`, held, undefined);
      ccf.kv[Tables.membersCerts].delete(key);
      ccf.kv[Tables.membersEncryptionPublicKeys].delete(key);
      ccf.kv[Tables.membersInfo].delete(key);
      ccf.kv[Tables.membersAcks].delete(key);
      // Its share (or full key) opens the current ledger secret: replace the secret. As CCF, any
      // Active member with an encryption key counts, whatever its recovery role; and so does one
      // set again (Accepted until it acks) that still has a share of the latest issue.
      if ((isRecoveryMember && info.status === "Active") || holdsIssuedShare(args.member_id)) ccf.node.triggerLedgerRekey();
    },
  }],

  ["set_member_data", {
    validate(args) {
      checkArgs(args, { member_id: entityId, member_data: objectOrNull });
    },
    apply(args) {
      const key = ccf.strToBuf(args.member_id);
      const info = readJson(Tables.membersInfo, key);
      if (info === undefined) throw new Error(`member ${args.member_id} does not exist`);
      info.member_data = args.member_data;
      writeJson(Tables.membersInfo, key, info);
    },
  }],

  ["set_user", {
    validate(args) {
      checkArgs(args, { cert: certificate, user_data: optional(objectOrNull) });
    },
    apply(args) {
      const key = ccf.strToBuf(ccf.pemToId(args.cert));
      writeText(Tables.usersCerts, key, args.cert);
      if (args.user_data != null) writeJson(Tables.usersInfo, key, { user_data: args.user_data });
      else ccf.kv[Tables.usersInfo].delete(key);
    },
  }],

  ["remove_user", {
    validate(args) {
      checkArgs(args, { user_id: entityId });
    },
    apply(args) {
      const key = ccf.strToBuf(args.user_id);
      ccf.kv[Tables.usersCerts].delete(key);
      ccf.kv[Tables.usersInfo].delete(key);
    },
  }],

  ["set_user_data", {
    validate(args) {
      checkArgs(args, { user_id: entityId, user_data: optional(anyJson) });
    },
    apply(args) {
      const key = ccf.strToBuf(args.user_id);
      if (!ccf.kv[Tables.usersCerts].has(key)) throw new Error(`user ${args.user_id} does not exist`);
      if (args.user_data != null) writeJson(Tables.usersInfo, key, { user_data: args.user_data });
      else ccf.kv[Tables.usersInfo].delete(key);
    },
  }],

  ["set_recovery_threshold", {
    validate(args) {
      checkArgs(args, { recovery_threshold: integerIn(1, RECOVERY_THRESHOLD_MAX) });
    },
    apply(args) {
      setRecoveryThreshold(args.recovery_threshold);
    },
  }],

  ["trigger_recovery_shares_refresh", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      assertNotRecovering("refresh recovery shares");
      ccf.node.triggerRecoverySharesRefresh();
    },
  }],

  ["trigger_ledger_rekey", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      assertNotRecovering("rekey the ledger");
      ccf.node.triggerLedgerRekey();
    },
  }],

  ["transition_service_to_open", {
    validate(args) {
      checkArgs(args, { next_service_identity: certificate, previous_service_identity: optional(certificate) });
    },
    apply(args) {
      const info = serviceInfo();
      // As CCF's node: a service already open, or waiting for recovery shares, is left as it is.
      if (info.status === "Open" || info.status === "WaitingForRecoveryShares") return;
      if (!sameCertificate(args.next_service_identity, info.cert)) {
        throw new Error(`args.next_service_identity is not the current service certificate (${Tables.serviceInfo})`);
      }
      const next = ccf.strToBuf(args.next_service_identity);
      if (info.status === "Opening") {
        if (args.previous_service_identity != null) {
          throw new Error("args.previous_service_identity is only for a recovering service, and this one is Opening");
        }
        ccf.node.transitionServiceToOpen(undefined, next);
      } else if (info.status === "Recovering") {
        if (args.previous_service_identity == null) {
          throw new Error("args.previous_service_identity is required to open a recovering service: give the certificate of the service before recovery");
        }
        ccf.node.transitionServiceToOpen(ccf.strToBuf(args.previous_service_identity), next);
      }
    },
  }],

  ["set_js_app", {
    validate(args) {
      checkArgs(args, { bundle, disable_bytecode_cache: optional(boolean) });
    },
    apply(args) {
      clearApp();
      for (const entry of args.bundle.modules) {
        writeText(Tables.modules, ccf.strToBuf(`/${entry.name}`), entry.module);
      }
      for (const [route, verbs] of Object.entries(args.bundle.metadata.endpoints)) {
        for (const [verb, info] of Object.entries(verbs)) {
          writeJson(Tables.endpoints, ccf.strToBuf(endpointKey(verb, route)), { ...info, js_module: `/${info.js_module}` });
        }
      }
      if (args.disable_bytecode_cache !== true) ccf.refreshAppBytecodeCache();
    },
  }],

  ["remove_js_app", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      clearApp();
    },
  }],

  ["set_js_runtime_options", {
    validate(args) {
      checkArgs(args, {
        // Any integer, as CCF's constitution: nodes hold each limit within what they can grant.
        max_heap_bytes: integer,
        max_stack_bytes: integer,
        max_execution_time_ms: integer,
        log_exception_details: optional(boolean),
        return_exception_details: optional(boolean),
        max_cached_interpreters: optional(integer),
      });
    },
    apply(args) {
      const options = {
        max_heap_bytes: args.max_heap_bytes,
        max_stack_bytes: args.max_stack_bytes,
        max_execution_time_ms: args.max_execution_time_ms,
      };
      for (const name of ["log_exception_details", "return_exception_details", "max_cached_interpreters"]) {
        if (args[name] != null) options[name] = args[name];
      }
      writeJson(Tables.jsRuntimeOptions, singletonKey(), options);
    },
  }],

  ["refresh_js_app_bytecode_cache", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      ccf.refreshAppBytecodeCache();
    },
  }],

  ["set_ca_cert_bundle", {
    validate(args) {
      checkArgs(args, { name: nonEmptyString, cert_bundle: rootCaBundle });
    },
    apply(args) {
      writeJson(Tables.caCertBundles, ccf.strToBuf(args.name), args.cert_bundle);
    },
  }],

  ["remove_ca_cert_bundle", {
    validate(args) {
      checkArgs(args, { name: nonEmptyString });
    },
    // As in CCF, even while an issuer names it: that issuer's key refresh then fails, and says so.
    apply(args) {
      ccf.kv[Tables.caCertBundles].delete(ccf.strToBuf(args.name));
    },
  }],

  ["set_jwt_issuer", {
    validate(args) {
      checkArgs(args, {
        // As CCF: any name, unless the node is to fetch its keys (CCF's own tests name one "noautorefresh://issuer").
        issuer: nonEmptyString,
        auto_refresh: optional(boolean),
        ca_cert_bundle_name: optional(nonEmptyString),
        jwks: optional(jwks),
        key_filter: optional(oneOf("all", "sgx")),
        key_policy: optional(jsonObject),
      });
      if (args.auto_refresh === true && args.ca_cert_bundle_name == null) {
        throw new Error("args.ca_cert_bundle_name is required with auto_refresh: it authenticates the issuer's key endpoint");
      }
      if (args.auto_refresh === true) issuerUrl(args.issuer, "args.issuer");
    },
    apply(args) {
      if (args.ca_cert_bundle_name != null && !ccf.kv[Tables.caCertBundles].has(ccf.strToBuf(args.ca_cert_bundle_name))) {
        throw new Error(`CA certificate bundle ${JSON.stringify(args.ca_cert_bundle_name)} does not exist: propose set_ca_cert_bundle first`);
      }
      const metadata = jwtIssuerMetadata(args);
      writeJson(Tables.jwtIssuers, ccf.strToBuf(args.issuer), metadata);
      if (args.jwks != null) ccf.setJwtPublicSigningKeys(args.issuer, metadata, args.jwks);
    },
  }],

  ["set_jwt_public_signing_keys", {
    validate(args) {
      checkArgs(args, { issuer: nonEmptyString, jwks });
    },
    apply(args) {
      const metadata = readJson(Tables.jwtIssuers, ccf.strToBuf(args.issuer));
      if (metadata === undefined) throw new Error(`JWT issuer ${args.issuer} is not registered: propose set_jwt_issuer first`);
      ccf.setJwtPublicSigningKeys(args.issuer, metadata, args.jwks);
    },
  }],

  ["remove_jwt_issuer", {
    validate(args) {
      checkArgs(args, { issuer: nonEmptyString });
    },
    apply(args) {
      const key = ccf.strToBuf(args.issuer);
      // delete() returns nothing (CCF's KvMap): ask first whether the issuer exists.
      if (!ccf.kv[Tables.jwtIssuers].has(key)) return;
      ccf.kv[Tables.jwtIssuers].delete(key);
      ccf.removeJwtPublicSigningKeys(args.issuer);
    },
  }],

  // CCF's: drops the JWT key tables of older ledgers, which authentication reads for a kid the
  // current table lacks. The names are those CCF clears, and the one its JWT policy reads.
  ["cleanup_legacy_jwt_records", {
    validate(args) {
      checkArgs(args ?? {}, { ensure_new_records_exist: optional(boolean) });
    },
    apply(args) {
      if (args?.ensure_new_records_exist === true && ccf.kv[Tables.jwtPublicSigningKeys].size === 0) {
        throw new Error("No new JWT public signing keys records found");
      }
      for (const table of [
        "public:ccf.gov.jwt.public_signing_keys",
        "public:ccf.gov.jwt.public_signing_key",
        "public:ccf.gov.jwt.public_signing_keys_metadata",
        "public:ccf.gov.jwt.public_signing_key_issuer",
      ]) {
        ccf.kv[table].clear();
      }
    },
  }],

  ["add_snp_measurement", {
    validate(args) {
      checkArgs(args, { measurement: lowerHex(SNP_MEASUREMENT_BYTES) });
    },
    apply(args, proposalId) {
      writeJson(Tables.snpMeasurements, ccf.strToBuf(args.measurement), ALLOWED_TO_JOIN);
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_snp_measurement", {
    validate(args) {
      checkArgs(args, { measurement: lowerHex(SNP_MEASUREMENT_BYTES) });
    },
    apply(args) {
      ccf.kv[Tables.snpMeasurements].delete(ccf.strToBuf(args.measurement));
    },
  }],

  ["add_snp_host_data", {
    validate(args) {
      checkArgs(args, { host_data: lowerHex(SHA256_BYTES), security_policy: optional(anyString) });
      if (args.security_policy != null && args.security_policy !== "") {
        const digest = hexOf(ccf.crypto.digest("SHA-256", ccf.strToBuf(args.security_policy)));
        if (digest !== args.host_data) {
          throw new Error(`args.host_data must be the SHA-256 of args.security_policy (${digest}), got ${JSON.stringify(args.host_data)}`);
        }
      }
    },
    apply(args, proposalId) {
      const policy = args.security_policy != null ? args.security_policy : "";
      writeJson(Tables.snpHostData, ccf.strToBuf(args.host_data), policy);
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_snp_host_data", {
    validate(args) {
      checkArgs(args, { host_data: lowerHex(SHA256_BYTES) });
    },
    apply(args) {
      ccf.kv[Tables.snpHostData].delete(ccf.strToBuf(args.host_data));
    },
  }],

  ["add_snp_uvm_endorsement", {
    validate(args) {
      checkArgs(args, { did: didString, feed: nonEmptyString, svn: decimalString });
    },
    apply(args, proposalId) {
      const key = ccf.strToBuf(args.did);
      const feeds = readJson(Tables.snpUvmEndorsements, key) || {};
      feeds[args.feed] = { svn: args.svn };
      writeJson(Tables.snpUvmEndorsements, key, feeds);
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_snp_uvm_endorsement", {
    validate(args) {
      checkArgs(args, { did: didString, feed: nonEmptyString });
    },
    apply(args) {
      const key = ccf.strToBuf(args.did);
      const feeds = readJson(Tables.snpUvmEndorsements, key);
      if (feeds === undefined || !hasOwn(feeds, args.feed)) return;
      delete feeds[args.feed];
      if (Object.keys(feeds).length === 0) ccf.kv[Tables.snpUvmEndorsements].delete(key);
      else writeJson(Tables.snpUvmEndorsements, key, feeds);
    },
  }],

  ["set_snp_minimum_tcb_version", {
    validate(args) {
      const component = integerIn(0, TCB_COMPONENT_MAX);
      checkArgs(args, {
        cpuid: lowerHex(SNP_CPUID_BYTES),
        tcb_version: fields({ boot_loader: component, tee: component, snp: component, microcode: component, fmc: optional(component) }),
      });
    },
    apply(args, proposalId) {
      const { boot_loader, tee, snp, microcode, fmc } = args.tcb_version;
      const minimum = { boot_loader, tee, snp, microcode };
      if (fmc != null) minimum.fmc = fmc;
      writeJson(Tables.snpTcbVersions, ccf.strToBuf(args.cpuid), minimum);
      dropOtherOpenProposals(proposalId);
    },
  }],

  // What CCF 6.0.9 replaced set_snp_minimum_tcb_version with: the TCB version as reports print it,
  // read into the fields of the CPUID's product by ccf.tcbHexToPolicy.
  ["set_snp_minimum_tcb_version_hex", {
    validate(args) {
      checkArgs(args, { cpuid: lowerHex(SNP_CPUID_BYTES), tcb_version: lowerHex(SNP_TCB_VERSION_BYTES) });
      ccf.tcbHexToPolicy(args.cpuid, args.tcb_version);
    },
    apply(args, proposalId) {
      writeJson(Tables.snpTcbVersions, ccf.strToBuf(args.cpuid), ccf.tcbHexToPolicy(args.cpuid, args.tcb_version));
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_snp_minimum_tcb_version", {
    validate(args) {
      checkArgs(args, { cpuid: lowerHex(SNP_CPUID_BYTES) });
    },
    apply(args) {
      ccf.kv[Tables.snpTcbVersions].delete(ccf.strToBuf(args.cpuid));
    },
  }],

  ["add_virtual_measurement", {
    validate(args) {
      checkArgs(args, { measurement: nonEmptyString });
    },
    apply(args, proposalId) {
      writeJson(Tables.virtualMeasurements, ccf.strToBuf(args.measurement), ALLOWED_TO_JOIN);
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_virtual_measurement", {
    validate(args) {
      checkArgs(args, { measurement: nonEmptyString });
    },
    apply(args) {
      ccf.kv[Tables.virtualMeasurements].delete(ccf.strToBuf(args.measurement));
    },
  }],

  ["add_virtual_host_data", {
    validate(args) {
      checkArgs(args, { host_data: lowerHex(SHA256_BYTES) });
    },
    apply(args, proposalId) {
      // A set: the key is the entry, the value is CCF's unit value (eight zero bytes).
      ccf.kv[Tables.virtualHostData].set(ccf.strToBuf(args.host_data), new ArrayBuffer(SINGLETON_KEY_BYTES));
      dropOtherOpenProposals(proposalId);
    },
  }],

  ["remove_virtual_host_data", {
    validate(args) {
      checkArgs(args, { host_data: lowerHex(SHA256_BYTES) });
    },
    apply(args) {
      ccf.kv[Tables.virtualHostData].delete(ccf.strToBuf(args.host_data));
    },
  }],

  // Coco's: governed Ethereum accounts (docs/ethereum.md). A balance set here replaces the account's
  // balance once, when execution next sees the account; a frozen account cannot send transactions.
  ["set_ethereum_accounts", {
    validate(args) {
      checkArgs(args, { accounts: ethereumAddressList(ethereumAccountChange, (change) => change.address) });
    },
    apply(args) {
      for (const change of args.accounts) {
        const key = ethereumKey(change.address);
        if (typeof change.balance === "string") writeJson(Tables.ethereumBalances, key, { balance: change.balance });
        if (change.frozen === true) writeJson(Tables.ethereumAccounts, key, { frozen: true });
        else if (change.frozen === false) ccf.kv[Tables.ethereumAccounts].delete(key);
      }
    },
  }],

  // Once the allowlist holds an address, only the addresses in it may send; emptied, anyone may again.
  ["add_ethereum_allowed_senders", {
    validate(args) {
      checkArgs(args, { addresses: ethereumAddresses });
    },
    apply(args) {
      for (const address of args.addresses) writeJson(Tables.ethereumAllowedSenders, ethereumKey(address), ALLOWED_TO_SEND);
    },
  }],

  ["remove_ethereum_allowed_senders", {
    validate(args) {
      checkArgs(args, { addresses: ethereumAddresses });
    },
    apply(args) {
      for (const address of args.addresses) ccf.kv[Tables.ethereumAllowedSenders].delete(ethereumKey(address));
    },
  }],

  ["set_node_data", {
    validate(args) {
      checkArgs(args, { node_id: entityId, node_data: anyJson });
    },
    apply(args) {
      const info = existingNode(args.node_id);
      info.node_data = args.node_data;
      writeJson(Tables.nodesInfo, ccf.strToBuf(args.node_id), info);
    },
  }],

  ["transition_node_to_trusted", {
    validate(args) {
      checkArgs(args, {
        node_id: entityId,
        valid_from: validFrom,
        validity_period_days: validityPeriodDays("maximum_node_certificate_validity_days"),
      });
    },
    apply(args) {
      const info = existingNode(args.node_id);
      // As CCF's: only a Pending node becomes Trusted; a Trusted or Retired one is left as it is.
      if (info.status !== "Pending") return;
      info.status = "Trusted";
      // The node receives the ledger secrets from this one on.
      info.ledger_secret_seqno = ccf.network.getLatestLedgerSecretSeqno();
      writeJson(Tables.nodesInfo, ccf.strToBuf(args.node_id), info);
      endorseNode(args.node_id, info, args.valid_from, args.validity_period_days);
    },
  }],

  ["remove_node", {
    validate(args) {
      checkArgs(args, { node_id: entityId });
    },
    apply(args) {
      const key = ccf.strToBuf(args.node_id);
      const info = readJson(Tables.nodesInfo, key);
      if (info === undefined || info.status === "Retired") return;
      if (info.status === "Pending") {
        ccf.kv[Tables.nodesInfo].delete(key);
        ccf.kv[Tables.nodesEndorsedCertificates].delete(key);
        return;
      }
      if (countTrustedNodes() === 1) throw new Error(`node ${args.node_id} is the last Trusted node: add another node before retiring it`);
      info.status = "Retired";
      writeJson(Tables.nodesInfo, key, info);
    },
  }],

  ["set_node_certificate_validity", {
    validate(args) {
      checkArgs(args, {
        node_id: entityId,
        valid_from: validFrom,
        validity_period_days: validityPeriodDays("maximum_node_certificate_validity_days"),
      });
    },
    apply(args) {
      const info = existingNode(args.node_id);
      if (info.status !== "Trusted") throw new Error(`node ${args.node_id} is ${info.status}: only a Trusted node's certificate can be renewed`);
      endorseNode(args.node_id, info, args.valid_from, args.validity_period_days);
    },
  }],

  ["set_all_nodes_certificate_validity", {
    validate(args) {
      checkArgs(args, {
        valid_from: validFrom,
        validity_period_days: validityPeriodDays("maximum_node_certificate_validity_days"),
      });
    },
    apply(args) {
      const trusted = [];
      ccf.kv[Tables.nodesInfo].forEach((value, key) => {
        const info = ccf.bufToJsonCompatible(value);
        if (info.status === "Trusted") trusted.push([ccf.bufToStr(key), info]);
      });
      for (const [nodeId, info] of trusted) endorseNode(nodeId, info, args.valid_from, args.validity_period_days);
    },
  }],

  ["set_service_certificate_validity", {
    validate(args) {
      checkArgs(args, {
        valid_from: validFrom,
        validity_period_days: validityPeriodDays("maximum_service_certificate_validity_days"),
      });
    },
    apply(args) {
      const days = validityDays(args.validity_period_days, "maximum_service_certificate_validity_days");
      const info = serviceInfo();
      info.cert = ccf.network.generateNetworkCertificate(utcTimeOf(args.valid_from, "args.valid_from"), days);
      writeJson(Tables.serviceInfo, singletonKey(), info);
    },
  }],

  ["set_service_configuration", {
    validate(args) {
      checkArgs(args, {
        reconfiguration_type: optional(oneOf("OneTransaction", "TwoTransaction")),
        recovery_threshold: optional(integerIn(1, RECOVERY_THRESHOLD_MAX)),
        recent_cose_proposals_window_size: optional(integerIn(RECENT_PROPOSALS_WINDOW_MIN, RECENT_PROPOSALS_WINDOW_MAX)),
      });
      if (Object.keys(args).every((name) => args[name] == null)) {
        throw new Error("args must set at least one of reconfiguration_type, recovery_threshold, recent_cose_proposals_window_size");
      }
    },
    apply(args) {
      const config = serviceConfig();
      if (args.reconfiguration_type != null) config.reconfiguration_type = args.reconfiguration_type;
      if (args.recent_cose_proposals_window_size != null) config.recent_cose_proposals_window_size = args.recent_cose_proposals_window_size;
      writeJson(Tables.serviceConfig, singletonKey(), config);
      if (args.recovery_threshold != null) setRecoveryThreshold(args.recovery_threshold);
    },
  }],

  ["trigger_ledger_chunk", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      ccf.node.triggerLedgerChunk();
    },
  }],

  ["trigger_snapshot", {
    validate(args) {
      checkArgs(args, noArgs);
    },
    apply() {
      ccf.node.triggerSnapshot();
    },
  }],

  ["assert_service_identity", {
    validate(args) {
      checkArgs(args, { service_identity: certificate });
      assertServiceIdentity(args.service_identity);
    },
    apply(args) {
      // Checked again: the service identity may have changed since the proposal was made.
      assertServiceIdentity(args.service_identity);
    },
  }],
]);

/**
 * Signing keys: ECDSAP256SHA256 (algorithm 13, RFC 6605) and ED25519 (15, RFC 8080) over node:crypto. A key is
 * made here, kept in the store as `StoredKey` (PKCS#8 DER in base64) and read back, so every node signs with
 * the same one. The private key stays inside the `SigningKey`: it is a private field, and `toJSON` (what a
 * logger or an API reply would serialise) leaves it out.
 */
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { DnskeyFlags, dnskeyRdata, keyTag } from './dnskey.js';

/** Algorithm numbers (IANA DNSSEC algorithm registry). */
export const Algorithm = { ECDSAP256SHA256: 13, ED25519: 15 } as const;
export type AlgorithmName = keyof typeof Algorithm;

export function isAlgorithmName(name: string): name is AlgorithmName {
  return Object.hasOwn(Algorithm, name);
}

/** What the store keeps of a key. `privateKey` is secret: never log it or return it from the API. */
export interface StoredKey {
  algorithm: AlgorithmName;
  flags: DnskeyFlags;
  /** PKCS#8 DER, base64. */
  privateKey: string;
}

/** PKCS#8 prefix of an Ed25519 private key (RFC 8410 7): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class SigningKey {
  readonly algorithmNumber: number;
  /** The DNSKEY rdata (also the CDNSKEY rdata). */
  readonly dnskey: Buffer;
  readonly keyTag: number;
  /**
   * Tells keys apart where the 16-bit key tag may not (two keys can share a tag): algorithm, tag and a
   * digest of the public key. Signature caches key on it.
   */
  readonly id: string;
  readonly #privateKey: KeyObject;

  private constructor(
    readonly algorithm: AlgorithmName,
    readonly flags: DnskeyFlags,
    privateKey: KeyObject,
  ) {
    this.#privateKey = privateKey;
    this.algorithmNumber = Algorithm[algorithm];
    this.dnskey = dnskeyRdata(flags, this.algorithmNumber, publicKeyField(algorithm, privateKey));
    this.keyTag = keyTag(this.dnskey);
    const digest = createHash('sha256').update(this.dnskey).digest('hex').slice(0, 16);
    this.id = `${this.algorithmNumber}-${this.keyTag}-${digest}`;
  }

  /** The signature over `data`: 64 bytes for both algorithms (P-256 as r | s, RFC 6605 4). */
  sign(data: Buffer): Buffer {
    if (this.algorithm === 'ED25519') return sign(null, data, this.#privateKey);
    return sign('sha256', data, { key: this.#privateKey, dsaEncoding: 'ieee-p1363' });
  }

  toStored(): StoredKey {
    const der = this.#privateKey.export({ format: 'der', type: 'pkcs8' });
    return { algorithm: this.algorithm, flags: this.flags, privateKey: der.toString('base64') };
  }

  /** Safe to log: no private part. */
  toJSON(): { algorithm: AlgorithmName; flags: number; keyTag: number } {
    return { algorithm: this.algorithm, flags: this.flags, keyTag: this.keyTag };
  }

  /** A new key; `flags` 257 (the default) for a CSK or a KSK, 256 for a ZSK. */
  static generate(algorithm: AlgorithmName, flags: DnskeyFlags = DnskeyFlags.KSK): SigningKey {
    const { privateKey } =
      algorithm === 'ED25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return new SigningKey(algorithm, flags, privateKey);
  }

  /** A key read back from the store; throws when the stored key is not of the stored algorithm. */
  static fromStored(stored: StoredKey): SigningKey {
    if (!isAlgorithmName(stored.algorithm)) throw new Error(`unknown DNSSEC algorithm "${String(stored.algorithm)}"`);
    if (stored.flags !== DnskeyFlags.KSK && stored.flags !== DnskeyFlags.ZSK) {
      throw new Error(`DNSKEY flags ${String(stored.flags)}, expected 256 or 257`);
    }
    const key = createPrivateKey({ key: Buffer.from(stored.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
    checkKind(stored.algorithm, key);
    return new SigningKey(stored.algorithm, stored.flags, key);
  }

  /**
   * A key from its raw private part, as BIND's `Private-key-format: v1.2` files hold it in `PrivateKey:`
   * (the P-256 scalar, or the Ed25519 seed; 32 bytes each). Used for importing keys and for RFC test vectors.
   */
  static fromRawPrivate(algorithm: AlgorithmName, raw: Buffer, flags: DnskeyFlags = DnskeyFlags.KSK): SigningKey {
    if (raw.length !== 32) throw new Error(`a ${algorithm} private key has 32 bytes, not ${raw.length}`);
    if (algorithm === 'ED25519') {
      const der = Buffer.concat([ED25519_PKCS8_PREFIX, raw]);
      return new SigningKey(algorithm, flags, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    }
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(raw);
    const point = ecdh.getPublicKey();
    const jwk = {
      kty: 'EC',
      crv: 'P-256',
      d: raw.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    };
    return new SigningKey(algorithm, flags, createPrivateKey({ key: jwk, format: 'jwk' }));
  }
}

function checkKind(algorithm: AlgorithmName, key: KeyObject): void {
  const ok =
    algorithm === 'ED25519'
      ? key.asymmetricKeyType === 'ed25519'
      : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (!ok) throw new Error(`the stored private key is not an ${algorithm} key`);
}

/** The DNSKEY public key field: P-256 as x | y (RFC 6605 4), Ed25519 as its 32 bytes (RFC 8080 3). */
function publicKeyField(algorithm: AlgorithmName, privateKey: KeyObject): Buffer {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  return algorithm === 'ED25519' ? x : Buffer.concat([x, Buffer.from(jwk.y ?? '', 'base64url')]);
}

/** A public key from a DNSKEY's algorithm and key field, for verifying; undefined for another algorithm. */
export function publicKeyOf(algorithm: number, field: Buffer): KeyObject | undefined {
  if (algorithm === Algorithm.ED25519 && field.length === 32) {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: field.toString('base64url') }, format: 'jwk' });
  }
  if (algorithm === Algorithm.ECDSAP256SHA256 && field.length === 64) {
    const x = field.subarray(0, 32).toString('base64url');
    const y = field.subarray(32).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  }
  return undefined;
}

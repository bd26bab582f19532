// Certificates made by the tests with @peculiar/x509 on node's WebCrypto: a root CA, an
// intermediate, and leaves with any lifetime (expired ones included), any names and key type.
// @peculiar/x509 2.x needs a Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY = 86_400_000;

export type KeyKind = 'ec' | 'rsa2048' | 'rsa1024';

function algorithm(kind: KeyKind) {
  return kind === 'ec'
    ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
    : {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: kind === 'rsa1024' ? 1024 : 2048,
      };
}

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  kind: KeyKind;
  certPem: string;
  keyPem: string;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

let serial = 1;
function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(4, '0');
}

export interface Lifetime {
  /** Days from now the certificate started (negative = in the past). */
  fromDays?: number;
  /** Days from now it ends. */
  toDays: number;
}

export async function rootCa(name = 'Drydock Test Root', kind: KeyKind = 'ec'): Promise<Issued> {
  const alg = algorithm(kind);
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, kind, certPem: `${cert.toString('pem').trimEnd()}\n`, keyPem: await keyPem(keys) };
}

export async function issue(
  issuer: Issued,
  options: { cn: string; names?: string[]; ca?: boolean; kind?: KeyKind; lifetime?: Lifetime },
): Promise<Issued> {
  const kind = options.kind ?? 'ec';
  const alg = algorithm(kind);
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const lifetime = options.lifetime ?? { fromDays: -1, toDays: 60 };
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, options.ca ? 0 : undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  if (options.ca) {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  } else {
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        (options.names ?? [options.cn]).map((value) =>
          /^\d+\.\d+\.\d+\.\d+$/.test(value) ? { type: 'ip' as const, value } : { type: 'dns' as const, value },
        ),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${options.cn}`,
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() + (lifetime.fromDays ?? -1) * DAY),
    notAfter: new Date(Date.now() + lifetime.toDays * DAY),
    signingAlgorithm: algorithm(issuer.kind),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  return { cert, keys, kind, certPem: `${cert.toString('pem').trimEnd()}\n`, keyPem: await keyPem(keys) };
}

/** A root, an intermediate under it, for issuing leaves the way public CAs do. */
export async function testPki(): Promise<{ root: Issued; intermediate: Issued }> {
  const root = await rootCa();
  const intermediate = await issue(root, { cn: 'Drydock Test Intermediate', ca: true, lifetime: { toDays: 1000 } });
  return { root, intermediate };
}

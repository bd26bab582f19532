// What an endpoint really serves, checked the way blackbox_exporter and testssl.sh do, in one pass:
// one normal handshake (chain, days left on every certificate, trust, hostname, key size, the
// negotiated protocol and cipher), then probes that offer only what must be refused: TLS 1.0, TLS 1.1
// and weak cipher suites. A probe that completes a handshake is proof the server accepts it.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { describeError } from '../../errors.js';
import { HandshakeError, describeEndpoint, openTls, type TlsConnectOptions, type TlsEndpoint } from './connect.js';

const DAY_MS = 86_400_000;

/**
 * Suites no client should be able to negotiate: no encryption, no authentication, export grade,
 * broken ciphers (RC4, DES, 3DES, MD5), and static-RSA key exchange (no forward secrecy). Offered at
 * security level 0 so OpenSSL lets the probe ask for them. OpenSSL 3 no longer builds RC4/DES/3DES
 * into its default provider, so those three can be detected only when the client's OpenSSL has them;
 * the others (and any legacy suite a server picks from this list) are detected.
 */
export const WEAK_CIPHERS = 'aNULL:eNULL:NULL:EXPORT:LOW:MD5:RC4:DES:3DES:SEED:IDEA:kRSA:@SECLEVEL=0';
/** Weak suites a probe asks for, at most: enough to name them without a long scan of a bad server. */
const MAX_WEAK_PROBES = 4;

export type ProblemKind = 'expiration' | 'configuration';

export interface Problem {
  kind: ProblemKind;
  message: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  lifetimeDays: number;
  fingerprint256: string;
  serialNumber: string;
  keyType: string;
  keyBits: number | null;
}

export interface EndpointPolicy {
  /** Alert when less is left than the smaller of this (ms) ... */
  expiryAlertMs: number;
  /** ... and this share of the certificate's lifetime. */
  expiryAlertShare: number;
  minRsaBits: number;
  minEcBits: number;
  timeoutMs: number;
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface EndpointReport {
  name: string;
  endpoint: TlsEndpoint;
  where: string;
  reachable: boolean;
  /** Why the endpoint could not be checked (unreachable, timed out). */
  error?: string;
  protocol?: string;
  cipher?: string;
  chain: CertificateInfo[];
  trusted: boolean;
  trustError?: string;
  hostnameOk: boolean;
  hostnameError?: string;
  /** Legacy protocol versions the server completed a handshake with. */
  legacyProtocols: string[];
  /** Weak suites the server agreed to. */
  weakCiphers: string[];
  problems: Problem[];
  durationMs: number;
}

export function certificateInfo(cert: X509Certificate, now: Date): CertificateInfo {
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const key = cert.publicKey;
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: round1((notAfter.getTime() - now.getTime()) / DAY_MS),
    lifetimeDays: round1((notAfter.getTime() - notBefore.getTime()) / DAY_MS),
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
    keyType: key.asymmetricKeyType ?? 'unknown',
    keyBits: keyBits(key.asymmetricKeyType, key.asymmetricKeyDetails),
  };
}

const CURVE_BITS: Record<string, number> = {
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  prime192v1: 192,
};

function keyBits(type: string | undefined, details: { modulusLength?: number; namedCurve?: string } | undefined) {
  if (type === 'rsa' || type === 'rsa-pss' || type === 'dsa') return details?.modulusLength ?? null;
  if (type === 'ec') return details?.namedCurve ? (CURVE_BITS[details.namedCurve] ?? null) : null;
  if (type === 'ed25519') return 256;
  if (type === 'ed448') return 456;
  return null;
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The certificates the server sent, leaf first, with the issuers Node linked to them. */
export function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** The day count below which a certificate alerts: the smaller of the fixed threshold and a share of its lifetime. */
export function alertThresholdDays(
  info: CertificateInfo,
  policy: Pick<EndpointPolicy, 'expiryAlertMs' | 'expiryAlertShare'>,
) {
  return Math.min(policy.expiryAlertMs / DAY_MS, info.lifetimeDays * policy.expiryAlertShare);
}

export async function checkEndpoint(
  name: string,
  endpoint: TlsEndpoint,
  policy: EndpointPolicy,
  options: { now?: () => Date; signal?: AbortSignal } = {},
): Promise<EndpointReport> {
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const where = describeEndpoint(endpoint);
  const report: EndpointReport = {
    name,
    endpoint,
    where,
    reachable: false,
    chain: [],
    trusted: false,
    hostnameOk: false,
    legacyProtocols: [],
    weakCiphers: [],
    problems: [],
    durationMs: 0,
  };
  const base: TlsConnectOptions = {
    timeoutMs: policy.timeoutMs,
    ...(policy.ca ? { ca: policy.ca } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const main = openTls(endpoint, base);
  // The refusal probes start together with the main handshake: they are independent connections.
  const legacy = (['TLSv1', 'TLSv1.1'] as const).map((version) =>
    accepts(endpoint, { ...base, minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }),
  );
  const weak = weakSuites(endpoint, base);
  let modernError: string | undefined;
  try {
    let socket: tls.TLSSocket;
    try {
      socket = await main;
    } catch (error) {
      // No TLS 1.2/1.3 handshake: look again offering everything, so a legacy-only server is still
      // described (its chain, its days left) and failed for what it speaks, not called unreachable.
      if (!(error instanceof HandshakeError)) throw error;
      modernError = describeError(error);
      socket = await openTls(endpoint, { ...base, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }).catch(() => {
        throw error;
      });
    }
    try {
      report.reachable = true;
      report.protocol = socket.getProtocol() ?? undefined;
      report.cipher = socket.getCipher()?.standardName ?? socket.getCipher()?.name;
      const chain = peerChain(socket);
      report.chain = chain.map((c) => certificateInfo(c, now()));
      report.trusted = socket.authorized;
      if (!socket.authorized) report.trustError = String(socket.authorizationError);
      const leaf = chain[0];
      const servername = endpoint.servername ?? endpoint.host;
      const identity = leaf
        ? tls.checkServerIdentity(servername, socket.getPeerCertificate())
        : new Error('no certificate');
      report.hostnameOk = identity === undefined;
      if (identity) report.hostnameError = identity.message;
    } finally {
      socket.destroy();
    }
  } catch (error) {
    report.error = describeError(error);
  }
  const [tls10, tls11] = await Promise.all(legacy);
  if (tls10) report.legacyProtocols.push('TLSv1');
  if (tls11) report.legacyProtocols.push('TLSv1.1');
  report.weakCiphers = await weak;
  if (report.reachable) {
    report.problems = findProblems(report, policy);
    if (modernError)
      report.problems.push({ kind: 'configuration', message: `no TLS 1.2 or 1.3 handshake: ${modernError}` });
  }
  report.durationMs = Date.now() - started;
  return report;
}

/** True when the server completes a handshake with these options. */
async function accepts(endpoint: TlsEndpoint, options: TlsConnectOptions): Promise<string | null> {
  try {
    const socket = await openTls(endpoint, options);
    const cipher = socket.getCipher()?.name ?? 'accepted';
    socket.destroy();
    return cipher;
  } catch (error) {
    if (error instanceof HandshakeError) return null;
    return null;
  }
}

/** Offers only weak suites, removing each one the server takes, to name every one it accepts (up to a few). */
async function weakSuites(endpoint: TlsEndpoint, base: TlsConnectOptions): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < MAX_WEAK_PROBES; i += 1) {
    const exclude = found.map((c) => `:!${c}`).join('');
    const cipher = await accepts(endpoint, {
      ...base,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.2',
      ciphers: WEAK_CIPHERS.replace(':@SECLEVEL=0', `${exclude}:@SECLEVEL=0`),
    });
    if (!cipher) break;
    found.push(cipher);
  }
  return found;
}

function describeCert(info: CertificateInfo, index: number): string {
  return `${index === 0 ? 'leaf' : `chain[${index}]`} ${info.subject}`;
}

function findProblems(report: EndpointReport, policy: EndpointPolicy): Problem[] {
  const problems: Problem[] = [];
  report.chain.forEach((info, index) => {
    const limit = alertThresholdDays(info, policy);
    if (info.daysLeft <= 0)
      problems.push({
        kind: 'expiration',
        message: `${describeCert(info, index)} expired ${Math.abs(info.daysLeft)} day(s) ago (${info.notAfter})`,
      });
    else if (info.daysLeft < limit)
      problems.push({
        kind: 'expiration',
        message: `${describeCert(info, index)} expires in ${info.daysLeft} day(s) (${info.notAfter}), under the alert threshold of ${round1(limit)} day(s)`,
      });
    if (info.keyBits !== null) {
      const min =
        info.keyType === 'ec'
          ? policy.minEcBits
          : info.keyType.startsWith('rsa') || info.keyType === 'dsa'
            ? policy.minRsaBits
            : 0;
      if (info.keyBits < min)
        problems.push({
          kind: 'configuration',
          message: `${describeCert(info, index)} has a ${info.keyBits}-bit ${info.keyType.toUpperCase()} key (minimum ${min})`,
        });
    }
  });
  // An expired certificate also fails verification; that is already said above.
  if (!report.trusted && report.trustError !== 'CERT_HAS_EXPIRED')
    problems.push({ kind: 'configuration', message: `chain not trusted: ${explainTrustError(report.trustError)}` });
  if (!report.hostnameOk)
    problems.push({ kind: 'configuration', message: `hostname mismatch: ${report.hostnameError ?? 'no certificate'}` });
  for (const version of report.legacyProtocols)
    problems.push({ kind: 'configuration', message: `accepts ${version} (TLS 1.0 and 1.1 are deprecated, RFC 8996)` });
  if (report.protocol && (report.protocol === 'TLSv1' || report.protocol === 'TLSv1.1'))
    problems.push({ kind: 'configuration', message: `negotiated ${report.protocol} with a modern client` });
  if (report.weakCiphers.length > 0)
    problems.push({ kind: 'configuration', message: `accepts weak cipher suite(s): ${report.weakCiphers.join(', ')}` });
  return problems;
}

const TRUST_ERRORS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'incomplete chain: the server does not send the intermediate certificate(s) (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the issuer is not in the trust store, or an intermediate is missing (UNABLE_TO_GET_ISSUER_CERT_LOCALLY)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a root that is not trusted (SELF_SIGNED_CERT_IN_CHAIN)',
  CERT_NOT_YET_VALID: 'a certificate is not valid yet (CERT_NOT_YET_VALID)',
};

function explainTrustError(code: string | undefined): string {
  if (!code) return 'unknown reason';
  return TRUST_ERRORS[code] ?? code;
}

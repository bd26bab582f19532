// When a certificate is due for renewal: when the policy's threshold (the spec's 30 days) is left, or a
// third of its lifetime when that is the smaller margin. A fixed 30 days renews a 45-day
// certificate after 15 days and a 6-day certificate never on time; a third of the lifetime renews a
// 90-day certificate at 30 days (what Let's Encrypt advises) and a 6-day one at 2 days.
import type { X509Certificate } from 'node:crypto';

const DAY_MS = 86_400_000;

export interface RenewalDecision {
  due: boolean;
  reason: string;
  /** When the certificate becomes due (absent when there is no certificate). */
  dueAt?: Date;
  daysLeft?: number;
}

export function renewalDue(
  cert: X509Certificate | null,
  domains: readonly string[],
  thresholdMs: number,
  now: Date,
): RenewalDecision {
  if (!cert) return { due: true, reason: 'no certificate yet' };
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  const margin = Math.min(thresholdMs, (notAfter - notBefore) / 3);
  const dueAt = new Date(notAfter - margin);
  const daysLeft = Math.round(((notAfter - now.getTime()) / DAY_MS) * 10) / 10;
  const names = certificateNames(cert);
  const missing = domains.filter((d) => !names.includes(d.toLowerCase()));
  if (missing.length > 0)
    return { due: true, reason: `the certificate does not cover ${missing.join(', ')}`, dueAt, daysLeft };
  const rule = margin < thresholdMs ? 'a third of its lifetime' : `${Math.round(thresholdMs / DAY_MS)} days`;
  if (now.getTime() >= dueAt.getTime())
    return {
      due: true,
      reason: `${daysLeft} day(s) left, due since ${dueAt.toISOString()} (${rule} before expiry)`,
      dueAt,
      daysLeft,
    };
  return {
    due: false,
    reason: `${daysLeft} day(s) left, due at ${dueAt.toISOString()} (${rule} before expiry)`,
    dueAt,
    daysLeft,
  };
}

/** The DNS names of a certificate's subjectAltName, lower case. */
export function certificateNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}

// A webhook URL or header that carries a credential must be a secret reference ({env}/{file}), never
// written inline in the policy (where `config print`, backups of the policy and reviews show it).
// Refused at load (so `config check` lists them): URLs with user:password@, a query parameter named
// like a credential (token, key, secret, signature, password, auth...), or a path segment that looks
// like one (20+ characters of letters and digits mixed, as in /hooks/<id>/<secret>); and inline
// Authorization, Proxy-Authorization, Cookie, *-token, *-key, *-secret headers.

const CREDENTIAL_PARAM = /(token|key|secret|sig(nature)?|pass(word)?|auth|credential|session|code)/i;
const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie|x-api-key)$|[-_](token|key|secret|signature|auth)$/i;

function looksLikeSecret(segment: string): boolean {
  return segment.length >= 20 && /^[A-Za-z0-9_\-.~]+$/.test(segment) && /[A-Za-z]/.test(segment) && /\d/.test(segment);
}

/** Why this URL, written inline, would carry a credential; null when it does not. */
export function urlCredentialProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null; // the URL check itself reports it
  }
  if (url.username || url.password) return 'the URL carries a user name or password';
  for (const name of url.searchParams.keys())
    if (CREDENTIAL_PARAM.test(name)) return `the URL carries a credential in its query (parameter "${name}")`;
  if (url.pathname.split('/').some((segment) => looksLikeSecret(decodeURIComponent(segment))))
    return 'the URL carries what looks like a secret in its path';
  return null;
}

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADER.test(name);
}

// Tokens written in the policy (a stakeholder's API token, the /metrics credentials) are chosen by
// people, so they are checked: at least 32 characters, and hard to guess. "Hard to guess" uses
// zxcvbn-ts (with its common-passwords dictionary and keyboard graphs) rather than a character
// entropy formula: a formula rates "passwordpasswordpassword12345678" or "abcdefghijklmnopqrstuvwxyz0123456"
// as strong because of their length and alphabet, while zxcvbn sees the repeats, sequences and
// dictionary words and estimates ~10^4 guesses. 10^30 guesses (~100 bits) is what 20 random
// base64 characters give; a random 32-character hex string scores 10^32.
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';

export const MIN_TOKEN_LENGTH = 32;
export const MIN_GUESSES_LOG10 = 30;

let factory: ZxcvbnFactory | null = null;

/** Why a token written in the policy is too weak, or null when it is long and random enough. */
export function tokenWeakness(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH)
    return `it has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} random characters are needed (e.g. openssl rand -base64 32)`;
  factory ??= new ZxcvbnFactory({ graphs: common.adjacencyGraphs, dictionary: { ...common.dictionary } });
  // zxcvbn's cost grows with length; the first 100 characters decide whether it is guessable.
  const result = factory.check(token.slice(0, 100));
  if (result.guessesLog10 < MIN_GUESSES_LOG10)
    return `it is guessable (about 10^${Math.floor(result.guessesLog10)} guesses: repeats, sequences or common words); use a random one (e.g. openssl rand -base64 32)`;
  return null;
}

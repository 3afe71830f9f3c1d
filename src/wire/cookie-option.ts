/**
 * The COOKIE option's shape on the wire (RFC 7873 4): what the query parser checks. Making and verifying
 * server cookies is protect/cookies.ts; this part sits in wire/ because the parser needs it.
 */
export const CLIENT_COOKIE_LEN = 8;

/** Where the COOKIE option's data sits in the query. */
export interface CookieSpan {
  /** Offset of the client cookie in the message. */
  at: number;
  /** Option length: 8 (client cookie only) or 16-40. */
  length: number;
}

/** RFC 7873 5.2.2: a client cookie of exactly 8 bytes, optionally followed by a server cookie of 8-32 bytes. */
export function cookieLengthOk(length: number): boolean {
  return length === CLIENT_COOKIE_LEN || (length >= 16 && length <= 40);
}

/**
 * Secret tokens: minting, hashing and constant-time comparison.
 *
 * A token is shown once and stored only as its SHA-256 hash. Lookups go by hash (an index), and
 * the final check compares hashes with `crypto.subtle.timingSafeEqual`, so neither the lookup nor
 * the comparison leaks how much of a guess was right.
 */

/** Length of minted API tokens: about 200 URL-safe characters, as Kestra's secret tokens. */
export const TOKEN_LENGTH = 200;

/** Mints a token of `TOKEN_LENGTH` base64url characters (150 random bytes, 1200 bits). */
export function mintToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array((TOKEN_LENGTH * 3) / 4));
  return base64Url(bytes);
}

/** Returns the lowercase hex SHA-256 of `value`. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  // A table and one loop: on every request, cheaper than an array of padded strings.
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * Compares two hex digests in constant time. Digests of one algorithm have one length, so the
 * length check reveals nothing about the secret.
 */
export function digestsEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}

/** Returns true when `presented` hashes to the same digest as `expected`, in constant time. */
export async function secretMatches(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(expected)]);
  return digestsEqual(a, b);
}

/** Extracts the credentials of an `Authorization: Bearer …` header, or null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+([^\s]+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

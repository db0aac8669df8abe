/**
 * Test keys and tokens in the shape Cloudflare Access uses: RSA key pairs, a certs document
 * (`/cdn-cgi/access/certs`) and RS256 JWTs with any header and payload. WebCrypto only, so it
 * runs in workerd and in Node 22+ alike (types included: no DOM lib needed).
 */

/** WebCrypto's key type, as whichever runtime's typings name it. */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** An RSA key pair for RS256, with the public half as a JWK carrying `kid`. */
export interface AccessKeyPair {
  kid: string;
  privateKey: WebCryptoKey;
  publicKey: WebCryptoKey;
  publicJwk: AccessPublicJwk;
}

/** A public RSA JWK as Access publishes it. */
export interface AccessPublicJwk {
  kid: string;
  kty: "RSA";
  alg: "RS256";
  use: "sig";
  n: string;
  e: string;
}

/** The certs document Access serves: `keys` plus certificate forms of the same keys. */
export interface AccessCerts {
  keys: AccessPublicJwk[];
  public_cert: { kid: string; cert: string };
  public_certs: { kid: string; cert: string }[];
}

/** Generates a 2048-bit RS256 key pair; `kid` defaults to a random UUID. */
export async function createAccessKeyPair(kid: string = crypto.randomUUID()): Promise<AccessKeyPair> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as { privateKey: WebCryptoKey; publicKey: WebCryptoKey };
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as { n?: string; e?: string };
  if (!jwk.n || !jwk.e) throw new Error("exported RSA JWK has no n or e");
  return { kid, privateKey: pair.privateKey, publicKey: pair.publicKey, publicJwk: { kid, kty: "RSA", alg: "RS256", use: "sig", n: jwk.n, e: jwk.e } };
}

/**
 * The certs document for these key pairs. `public_cert(s)` hold placeholders, not X.509
 * certificates (WebCrypto cannot make one); a verifier is expected to use `keys`.
 */
export function accessCerts(...pairs: AccessKeyPair[]): AccessCerts {
  const certs = pairs.map((p) => ({ kid: p.kid, cert: `-----BEGIN CERTIFICATE-----\n(test placeholder for ${p.kid})\n-----END CERTIFICATE-----\n` }));
  return { keys: pairs.map((p) => p.publicJwk), public_cert: certs[0] ?? { kid: "", cert: "" }, public_certs: certs };
}

/** Base64url without padding, of bytes or of a string's UTF-8. */
export function base64UrlEncode(data: Uint8Array | ArrayBuffer | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Signs `header.payload` with RS256 under `privateKey`, whatever the header says (so tests can
 * claim other algorithms or kids). Header and payload are JSON-encoded as given.
 */
export async function signJwt(privateKey: WebCryptoKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const signingInput = `${base64UrlEncode(JSON.stringify(header))}.${base64UrlEncode(JSON.stringify(payload))}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, new TextEncoder().encode(signingInput));
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

/** An Access-style token for `pair`: header `{ alg: RS256, kid, typ: JWT }`, `payload` as given. */
export function signAccessJwt(pair: AccessKeyPair, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return signJwt(pair.privateKey, { alg: "RS256", kid: pair.kid, typ: "JWT", ...header }, payload);
}

/**
 * Claims as Access issues them for `email`, valid from `now` (epoch ms) for ten minutes;
 * `overrides` replace or add claims (an `undefined` value removes one).
 */
export function accessPayload(issuer: string, audience: string, email: string, now: number = Date.now(), overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const seconds = Math.floor(now / 1000);
  const payload: Record<string, unknown> = {
    aud: [audience],
    email,
    exp: seconds + 600,
    iat: seconds,
    nbf: seconds,
    iss: issuer,
    type: "app",
    identity_nonce: "nonce-0123456789",
    sub: "7335d417-61da-459d-899c-0a01c76a2f94",
    country: "CH",
    ...overrides,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return payload;
}

/**
 * A `fetch` stand-in serving the certs document `certs()` answers (or the Response it returns),
 * counting calls and remembering the URLs asked for. `hold` makes calls wait until it settles.
 */
export function certsFetcher(certs: () => AccessCerts | Response, hold?: Promise<unknown>) {
  const urls: string[] = [];
  const fetcher = async (input: Parameters<typeof fetch>[0]): Promise<Response> => {
    urls.push(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (hold) await hold;
    const body = certs();
    return body instanceof Response ? body : Response.json(body);
  };
  return {
    fetcher,
    urls,
    get calls() {
      return urls.length;
    },
  };
}

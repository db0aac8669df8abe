/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter, then random bits.
 * Time-ordered, so rows sort by creation when ordered by id and a list cursor is just an id.
 * Within one isolate ids are strictly increasing even inside one millisecond (the counter,
 * RFC 9562 §6.2 method 1), so "newest first" holds for what one writer records.
 */
let lastMs = 0;
let counter = 0;

/** Returns a new UUIDv7, greater than every id this isolate returned before. */
export function newId(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      ms = ++lastMs;
      counter = 0;
    }
  } else {
    lastMs = ms;
    // Start low in the counter's range, leaving room for ids in the same millisecond.
    counter = crypto.getRandomValues(new Uint16Array(1))[0]! & 0x3ff;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

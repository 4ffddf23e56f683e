// cf. src/core/ngx_times.c — the cached time strings, remade at most once per second.

let cachedSecond = -1;
let cachedHttpDate = '';

/** The IMF-fixdate for now, as in the Date header; formatted once per second. */
export function httpDate(): string {
  const now = Date.now();
  const sec = (now / 1000) | 0;
  if (sec !== cachedSecond) {
    cachedSecond = sec;
    cachedHttpDate = new Date(sec * 1000).toUTCString();
  }
  return cachedHttpDate;
}

/** An IMF-fixdate for a time in ms. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

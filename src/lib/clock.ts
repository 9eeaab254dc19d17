/**
 * The injectable clock. Everything that compares times (token expiry, code expiry, lockouts, heartbeats)
 * reads `now()`, never `Date.now()`, so that tests can move time with `setClock` instead of sleeping.
 */
let source: () => number = () => Date.now();

/** Milliseconds since the epoch. */
export function nowMs(): number {
  return source();
}

/** Unix seconds (the unit of every stored time and of the VSee wire format). */
export function now(): number {
  return Math.floor(source() / 1000);
}

/** Replaces the clock (tests). Pass nothing to restore the real one. */
export function setClock(fn?: () => number): void {
  source = fn ?? (() => Date.now());
}

// One turn of the event loop, awaited: what is pending runs first (timers, I/O callbacks, an abort), and
// requests started before are written to their sockets. The deploy awaits it before synchronous work
// that would otherwise hold those back: a parse, a gzip, a long loop.

/** Resolves once the event loop has turned (in its check phase, after the I/O it had waiting). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

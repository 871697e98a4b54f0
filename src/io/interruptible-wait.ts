/**
 * For commands whose normal end is Ctrl-C (`devices watch`, `logs --follow`): a signal that SIGINT or
 * SIGTERM aborts, and a wait that such a signal cuts short. Both leave no listener behind, so a loop that
 * waits thousands of times does not pile them up (Node warns past ten on one emitter).
 */

/** An AbortSignal that SIGINT or SIGTERM aborts; `release` removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Waits `ms`, or less when `signal` aborts first. */
export const interruptibleSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

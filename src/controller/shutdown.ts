const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs until SIGINT, SIGTERM or SIGHUP (a closed terminal), then calls `close` once (Fastify drains requests, the pool ends, an embedded
 * database stops). A second signal while closing exits at once: an operator pressing Ctrl-C twice means it.
 */
export function closeOnSignal(
  close: () => Promise<void>,
  onSignal?: (signal: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let closing = false;
    const handler = (signal: NodeJS.Signals) => {
      if (closing) process.exit(130);
      closing = true;
      onSignal?.(signal);
      close().then(() => {
        for (const signal of SIGNALS) process.off(signal, handler);
        resolve();
      }, reject);
    };
    for (const signal of SIGNALS) process.on(signal, handler);
  });
}

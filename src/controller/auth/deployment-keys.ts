import { sameKeyHash } from './scanner-key';

/**
 * The deployment keys the controller accepts, as SHA-256 hashes: the current one and, during a rotation's
 * grace period, the previous one until `notAfter`. Held in memory: the key a controller starts with comes
 * from its environment (systemd's EnvironmentFile on EC2, which `wavectl api-key rotate` rewrites, or the
 * SSM parameter `controller serve --api-key-from-ssm` reads), so a restart after a rotation starts with
 * the new key and accepts the old one no more.
 */
export class DeploymentKeyRing {
  private current: string;
  private previous: { hash: string; notAfter: number } | undefined;

  constructor(
    currentHash: string,
    private readonly now: () => number = Date.now,
  ) {
    this.current = currentHash;
  }

  accepts(hash: string): boolean {
    if (sameKeyHash(hash, this.current)) return true;
    const previous = this.previous;
    return previous !== undefined && this.now() < previous.notAfter && sameKeyHash(hash, previous.hash);
  }

  /**
   * Makes `nextHash` the key; the one it replaces stays valid for `graceSeconds` (0: refused at once).
   * Rotating to the current key again is a no-op, so a re-run of an interrupted rotation is harmless.
   */
  rotate(nextHash: string, graceSeconds: number): { previousValidUntil: string | null } {
    if (!sameKeyHash(nextHash, this.current)) {
      this.previous = { hash: this.current, notAfter: this.now() + graceSeconds * 1000 };
      this.current = nextHash;
    }
    return { previousValidUntil: this.previousValidUntil() };
  }

  previousValidUntil(): string | null {
    const previous = this.previous;
    return previous && this.now() < previous.notAfter ? new Date(previous.notAfter).toISOString() : null;
  }
}

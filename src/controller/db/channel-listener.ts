import type { Pool, PoolClient } from 'pg';

export interface ChannelSubscriber {
  /** Something was NOTIFYed on the channel. */
  notified(): void;
  /** The listening connection was lost: notifications may have been missed. */
  lost(error: Error): void;
}

/**
 * PostgreSQL LISTEN on one channel, shared by every subscriber: one connection of the pool is held while
 * anyone listens, and given back (closed, which ends the LISTEN) when the last one leaves.
 */
export class ChannelListener {
  private client: PoolClient | undefined;
  private connecting: Promise<void> | undefined;
  private readonly subscribers = new Set<ChannelSubscriber>();

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new RangeError(`not a channel name: ${channel}`);
  }

  /** Resolves once LISTEN is in force; returns the unsubscribe function. */
  async subscribe(subscriber: ChannelSubscriber): Promise<() => void> {
    this.subscribers.add(subscriber);
    try {
      await this.listen();
    } catch (error) {
      this.subscribers.delete(subscriber);
      throw error;
    }
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.close();
    };
  }

  private listen(): Promise<void> {
    this.connecting ??= (async () => {
      const client = await this.pool.connect();
      client.on('notification', (message) => {
        if (message.channel !== this.channel) return;
        for (const s of [...this.subscribers]) s.notified();
      });
      client.on('error', (error) => this.fail(client, error));
      try {
        await client.query(`listen ${this.channel}`);
      } catch (error) {
        client.release(true);
        throw error;
      }
      this.client = client;
      if (this.subscribers.size === 0) this.close();
    })().catch((error) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private fail(client: PoolClient, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.connecting = undefined;
    client.release(true);
    for (const s of [...this.subscribers]) s.lost(error);
    this.subscribers.clear();
  }

  /** Ends the LISTEN (its connection is closed, not returned to the pool in the listening state). */
  close(): void {
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    client?.release(true);
  }
}

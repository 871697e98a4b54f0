import { connect, type Socket } from 'node:net';

/**
 * What the link between wavectl and a sandbox router does to TCP:
 * - `up`: bytes flow;
 * - `reset`: every connection, established or new, is answered with a TCP reset (as
 *   `nft … reject with tcp reset` does): a new one is reset right after it connected, before the SSH
 *   handshake — the case where ssh2 raises two errors;
 * - `blackhole`: nothing passes either way (a dropped link); the bytes wait, as TCP keeps retransmitting
 *   them, and flow again when the link comes back up. A new connection gets no SSH banner.
 */
export type LinkState = 'up' | 'reset' | 'blackhole';

interface Carried {
  front: Socket;
  back: Socket;
  /** The router address the connection was made to. */
  address: string;
  /** The router no longer has that address: the connection hangs for good. */
  stranded: boolean;
}

const ignore = () => undefined;

/**
 * A switch on a sandbox router's link: every connection to the router's address passes through it to the
 * SSH server, so a test can reset or black-hole the link at a chosen moment, with the router itself
 * (its namespaces, its apply job) untouched.
 */
export class RouterLink {
  private current: LinkState = 'up';
  private readonly carried = new Set<Carried>();

  /** `sshPort` is where the router's SSH server accepts the carried connections (loopback). */
  constructor(private readonly sshPort: () => number) {}

  get state(): LinkState {
    return this.current;
  }

  set(state: LinkState): void {
    this.current = state;
    for (const c of [...this.carried]) {
      if (c.stranded) continue;
      if (state === 'reset') this.reset(c);
      else if (state === 'blackhole') this.hold(c);
      else this.release(c);
    }
  }

  /** Carries a connection accepted at `address` to the SSH server, through the switch. */
  carry(front: Socket, address: string): void {
    front.on('error', ignore);
    if (this.current === 'reset') {
      front.resetAndDestroy();
      return;
    }
    const back = connect(this.sshPort(), '127.0.0.1');
    back.on('error', ignore);
    const c: Carried = { front, back, address, stranded: false };
    this.carried.add(c);
    front.on('data', (d: Buffer) => back.write(d));
    back.on('data', (d: Buffer) => front.write(d));
    front.on('end', () => back.end());
    back.on('end', () => {
      if (!c.stranded) front.end();
    });
    front.on('close', () => {
      back.destroy();
      this.carried.delete(c);
    });
    back.on('close', () => {
      if (!c.stranded) front.destroy();
    });
    if (this.current === 'blackhole') this.hold(c);
  }

  /**
   * The router stopped answering at `address` (its LAN moved): the connections made to it hang, as TCP
   * does when its peer's address vanishes; nothing tells the other end.
   */
  strand(address: string): void {
    for (const c of this.carried) {
      if (c.address !== address) continue;
      c.stranded = true;
      this.hold(c);
    }
  }

  /** Ends every connection silently (the test is over). */
  destroyAll(): void {
    for (const c of this.carried) {
      c.front.destroy();
      c.back.destroy();
    }
    this.carried.clear();
  }

  private reset(c: Carried): void {
    this.carried.delete(c);
    c.front.resetAndDestroy();
    c.back.destroy();
  }

  private hold(c: Carried): void {
    c.front.pause();
    c.back.pause();
  }

  private release(c: Carried): void {
    c.front.resume();
    c.back.resume();
  }
}

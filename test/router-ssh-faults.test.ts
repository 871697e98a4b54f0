import { afterAll, beforeAll, expect, it } from 'vitest';
import { RouterConnectionError, RouterError } from '../src/errors';
import { connectRouter, type RouterSession } from '../src/router/ssh';
import { describeWithNetns } from './helpers/netns';
import { type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

const PASSWORD = 'faults';

/** src/router/ssh.ts against the sandbox router, with its link reset or black-holed under it. */
describeWithNetns('router SSH under connection faults', () => {
  let router: RouterSandbox;
  const open = (timeoutMs = 5000) =>
    connectRouter(
      { host: router.host, port: router.port, user: 'root' },
      { password: PASSWORD },
      { acceptNew: async () => true },
      timeoutMs,
    );

  beforeAll(async () => {
    router = await startRouterSandbox({ password: PASSWORD });
  });
  afterAll(async () => {
    await router?.stop();
  });

  it('turns a reset before the handshake into one RouterConnectionError, and nothing thrown later', async () => {
    router.link.set('reset');
    const failure = await open().catch((e: unknown) => e);
    // ssh2 raises its second error ("Connection lost before handshake") after the first: give it the time.
    await new Promise((r) => setTimeout(r, 300));
    router.link.set('up');
    expect(failure).toBeInstanceOf(RouterConnectionError);
    expect((failure as RouterError).message).toMatch(
      /cannot reach the router at root@127\.0\.0\.1:\d+: (the connection was reset|the connection was lost before the SSH handshake)/,
    );
    const session = await open();
    expect((await session.exec('echo ok', 'probe')).stdout).toBe('ok\n');
    session.close();
  });

  it('says "no answer" when the link is a black hole during the handshake', async () => {
    router.link.set('blackhole');
    const failure = await open(1500).catch((e: unknown) => e);
    router.link.set('up');
    expect(failure).toBeInstanceOf(RouterConnectionError);
    expect((failure as Error).message).toMatch(/no answer \(timed out\)/);
  });

  it('fails a command whose connection is reset under it, with the reason', async () => {
    const session = await open();
    const pending = session.exec('sleep 3; echo late', 'wait').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    router.link.set('reset');
    const failure = await pending;
    router.link.set('up');
    expect(failure).toBeInstanceOf(RouterConnectionError);
    expect((failure as Error).message).toMatch(
      /wait: the connection dropped before the command finished \(the connection was reset\)/,
    );
    await session.whenClosed();
    await expect(session.exec('true', 'after')).rejects.toBeInstanceOf(RouterConnectionError);
  });

  it('gives up on a command after its time limit when the link goes silent, and runs again once it is back', async () => {
    let session: RouterSession = await open();
    router.link.set('blackhole');
    const failure = await session.exec('echo ok', 'silent', undefined, 1500).catch((e: unknown) => e);
    router.link.set('up');
    expect(failure).toBeInstanceOf(RouterConnectionError);
    expect((failure as Error).message).toMatch(/silent: no answer within 2s/);
    session = await open();
    expect((await session.exec('echo ok', 'again')).stdout).toBe('ok\n');
    session.close();
  });

  it('names the signal that killed a command (no exit status), not a dropped connection', async () => {
    const session = await open();
    const failure = await session.exec('kill -9 $$', 'install').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RouterError);
    expect(failure).not.toBeInstanceOf(RouterConnectionError);
    expect((failure as Error).message).toMatch(
      /install: killed by SIGKILL \(on a router usually the out-of-memory killer/,
    );
    // The connection is still good.
    expect((await session.exec('echo ok', 'probe')).stdout).toBe('ok\n');
    session.close();
  });
});

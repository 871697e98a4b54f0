import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy answers itself instead of forwarding (an injected failure). */
export interface InjectedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ForwardingProxy {
  url: string;
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a real peer (moto, the controller): each request is forwarded as it is
 * unless `intercept` answers it; `delayMs` is added before forwarding. Only the network is made worse;
 * nothing behind it is mocked.
 */
export async function startForwardingProxy(
  target: string,
  intercept: (req: IncomingMessage, body: Buffer) => InjectedAnswer | undefined,
  options: { delayMs?: number } = {},
): Promise<ForwardingProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const injected = intercept(req, Buffer.concat(chunks));
      if (injected) {
        res.writeHead(injected.status, injected.headers);
        res.end(injected.body);
        return;
      }
      const forward = () => {
        const out = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', (error) => {
          res.writeHead(502);
          res.end(String(error));
        });
        out.end(Buffer.concat(chunks));
      };
      if (options.delayMs) setTimeout(forward, options.delayMs);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

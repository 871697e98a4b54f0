import type { IncomingMessage } from 'node:http';
import { startForwardingProxy } from './forwarding-proxy';

/**
 * A loopback HTTP proxy in front of moto that can add latency to every call, answer chosen calls with the
 * throttling error of their protocol, and count calls by service. It speaks to the real emulator for the
 * rest: nothing is mocked, only the network is made worse.
 */
export interface AwsProxy {
  endpoint: string;
  /** Calls seen per AWS service (signing name: ec2, iam, route53, ssm, s3, sts). */
  counts: Record<string, number>;
  throttled: number;
  resetCounts(): void;
  stop(): Promise<void>;
}

export interface AwsProxyOptions {
  /** Added to every call before it is forwarded. */
  latencyMs?: number;
  /** Returns true when this call (nth of its service, 1-based) must be answered with a throttling error. */
  throttle?: (service: string, nth: number) => boolean;
}

/** The signing service of a SigV4 request: `Credential=AKID/20260101/us-east-1/ec2/aws4_request`. */
export function signingService(req: IncomingMessage): string {
  const auth = String(req.headers.authorization ?? '');
  return /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
}

/** The throttling error each protocol family really answers with. */
export function throttlingResponse(service: string): { status: number; type: string; body: string } {
  switch (service) {
    case 'ec2':
      return {
        status: 503,
        type: 'text/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttle-proxy</RequestID></Response>',
      };
    case 'ssm':
      return {
        status: 400,
        type: 'application/x-amz-json-1.1',
        body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }),
      };
    case 's3':
      return {
        status: 503,
        type: 'application/xml',
        body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>throttle-proxy</RequestId></Error>',
      };
    default:
      // IAM, STS (query protocol) and Route53 (REST-XML) share this shape.
      return {
        status: 400,
        type: 'text/xml',
        body: '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>throttle-proxy</RequestId></ErrorResponse>',
      };
  }
}

export async function startAwsProxy(target: string, options: AwsProxyOptions = {}): Promise<AwsProxy> {
  const counts: Record<string, number> = {};
  const tally = { throttled: 0 };
  const proxy = await startForwardingProxy(
    target,
    (req) => {
      const service = signingService(req);
      const nth = (counts[service] ?? 0) + 1;
      counts[service] = nth;
      if (!options.throttle?.(service, nth)) return undefined;
      tally.throttled++;
      const error = throttlingResponse(service);
      return {
        status: error.status,
        headers: { 'content-type': error.type, 'x-amzn-requestid': 'throttle-proxy' },
        body: error.body,
      };
    },
    { delayMs: options.latencyMs },
  );
  return {
    endpoint: proxy.url,
    counts,
    get throttled() {
      return tally.throttled;
    },
    resetCounts() {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    stop: proxy.stop,
  };
}

import { startForwardingProxy } from './forwarding-proxy';

export interface SentCommand {
  document: string;
  instanceIds: string[];
  comment: string;
  script: string;
}

/**
 * A loopback proxy in front of moto that records every SSM SendCommand as the CLI made it, oldest first,
 * and forwards every request unchanged. moto's ListCommands cannot say where a command went: without
 * Targets it names every instance of the account in each command, so a check on it cannot fail for a
 * command sent to the wrong instance; AWS names only the instances asked for, as this record does.
 */
export async function recordSendCommands(
  motoEndpoint: string,
): Promise<{ url: string; sent: SentCommand[]; stop(): Promise<void> }> {
  const sent: SentCommand[] = [];
  const proxy = await startForwardingProxy(motoEndpoint, (req, body) => {
    if (req.headers['x-amz-target'] === 'AmazonSSM.SendCommand') {
      const request = JSON.parse(body.toString('utf8')) as {
        DocumentName?: string;
        InstanceIds?: string[];
        Comment?: string;
        Parameters?: { commands?: string[] };
      };
      sent.push({
        document: request.DocumentName ?? '',
        instanceIds: request.InstanceIds ?? [],
        comment: request.Comment ?? '',
        script: (request.Parameters?.commands ?? []).join('\n'),
      });
    }
    return undefined;
  });
  return { url: proxy.url, sent, stop: proxy.stop };
}

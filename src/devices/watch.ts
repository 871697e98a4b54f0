import type { Context } from '../context';
import type { DeviceEvent } from '../controller/api-types';
import { ConfigError, ControllerError } from '../errors';
import { interruptibleSleep } from '../io/interruptible-wait';
import { controllerUrlOnVpn } from '../network/service-names';
import { renderDeviceEvent } from './render';
import type { DeviceSelection } from './selection';
import { ServerSentEventParser } from './server-sent-events';

export interface WatchSummary {
  events: number;
  reconnects: number;
}

const RECONNECT_MS = 2000;

const wanted = (selection: DeviceSelection, e: DeviceEvent) =>
  (!selection.sites || selection.sites.includes(e.site)) && (!selection.mac || e.mac === selection.mac);

/**
 * `wavectl devices watch`: prints each new, missing, returning or moved device as the controller records it
 * (its server-sent event stream), until `stop` aborts (Ctrl-C). A dropped stream is resumed where it left
 * off (Last-Event-ID), so nothing is missed or printed twice; only the first connection failing is an error.
 */
export async function watchDevices(
  ctx: Context,
  selection: DeviceSelection,
  stop: AbortSignal,
): Promise<WatchSummary> {
  const config = await ctx.loadConfig();
  if (!config.controller.url) {
    throw new ConfigError(
      `devices watch needs controller.url in wavectl.json: the event stream travels over HTTP, which the SSM relay cannot carry. On the VPN set it to ${controllerUrlOnVpn(config)}; locally, run \`wavectl controller serve\` and point controller.url at it`,
    );
  }
  const { connectController } = await import('../controller-client/connect');
  const controller = await connectController(ctx);
  const summary: WatchSummary = { events: 0, reconnects: 0 };
  let lastEventId: string | undefined;
  let connected = false;
  while (!stop.aborted) {
    try {
      const body = await controller.openDeviceEvents(lastEventId, stop);
      ctx.io.step(
        `watching devices at ${controller.transport.description}`,
        'done',
        connected ? `resumed after event ${lastEventId ?? 'none'}` : 'connected (Ctrl-C to stop)',
      );
      connected = true;
      const parser = new ServerSentEventParser();
      const decoder = new TextDecoder();
      for await (const chunk of body) {
        for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
          if (message.event !== 'device') continue;
          const event = JSON.parse(message.data) as DeviceEvent;
          lastEventId = message.id ?? lastEventId;
          if (!wanted(selection, event)) continue;
          summary.events += 1;
          ctx.io.record(event, renderDeviceEvent);
        }
      }
      if (stop.aborted) break;
      ctx.io.warn('the controller ended the event stream; reconnecting');
    } catch (error) {
      if (stop.aborted) break;
      if (
        !connected ||
        (error instanceof ControllerError && error.status !== undefined && error.status < 500)
      )
        throw error;
      ctx.io.warn(`event stream lost (${(error as Error).message}); reconnecting`);
    }
    summary.reconnects += 1;
    await interruptibleSleep(RECONNECT_MS, stop);
  }
  return summary;
}

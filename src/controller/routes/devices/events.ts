import { once } from 'node:events';
import type { FastifyPluginAsync } from 'fastify';
import { ChannelListener } from '../../db/channel-listener';
import {
  DEVICE_EVENTS_CHANNEL,
  type DeviceEvent,
  deviceEventsAfter,
  lastDeviceEventId,
} from '../../repositories/device-events';
import { responses } from '../../schemas/common';
import { deviceEventQuerySchema } from '../../schemas/devices';

const BATCH = 500;
const HEARTBEAT_MS = 15_000;

/** One server-sent event; `id` lets a reconnecting client resume with Last-Event-ID. */
export const renderServerSentEvent = (event: DeviceEvent): string =>
  `id: ${event.id}\nevent: device\ndata: ${JSON.stringify(event)}\n\n`;

function lastEventIdHeader(value: string | string[] | undefined): number | undefined {
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * `GET /api/devices/events`: new, missing, returning and moved devices as server-sent events, as the
 * controller records them. The triggers write each event in the transaction that changed the device and
 * NOTIFY; each stream then reads the events after its position, so an event is never lost between a
 * notification and a reconnect (Last-Event-ID), and no client ever re-reads the inventory.
 */
export const deviceEventRoutes: FastifyPluginAsync = async (app) => {
  const listener = new ChannelListener(app.db, DEVICE_EVENTS_CHANNEL);
  const open = new Set<() => void>();
  // Streams never finish by themselves: end them first, so that closing the server does not wait on them.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
    listener.close();
  });

  app.get<{ Querystring: { after?: number } }>(
    '/api/devices/events',
    {
      schema: {
        tags: ['devices'],
        summary: 'new, missing, returning and moved devices, as server-sent events (text/event-stream)',
        description:
          'Each event is `event: device`, `id: <n>`, `data: <DeviceEvent JSON>`. Resume with the header Last-Event-ID or ?after=<id>; without either, events from now on. A comment line is sent every 15 s.',
        querystring: deviceEventQuerySchema,
        response: responses({
          200: {
            description: 'an endless text/event-stream',
            content: { 'text/event-stream': { schema: { $ref: 'DeviceEvent#' } } },
          },
        }),
      },
    },
    async (request, reply) => {
      let position =
        lastEventIdHeader(request.headers['last-event-id']) ??
        request.query.after ??
        (await lastDeviceEventId(app.db));
      const res = reply.raw;
      let ended = false;
      let pumping: Promise<void> | undefined;
      let again = false;
      let unsubscribe: (() => void) | undefined;
      let heartbeat: NodeJS.Timeout | undefined;
      const end = () => {
        if (ended) return;
        ended = true;
        open.delete(end);
        clearInterval(heartbeat);
        unsubscribe?.();
        res.end();
      };
      const write = async (text: string) => {
        if (!res.write(text) && !ended) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      };
      // One reader per stream at a time; a notification during a read asks for one more pass.
      const pump = () => {
        if (pumping) {
          again = true;
          return;
        }
        pumping = (async () => {
          try {
            do {
              again = false;
              for (;;) {
                const events = await deviceEventsAfter(app.db, position, BATCH);
                for (const event of events) {
                  if (ended) return;
                  await write(renderServerSentEvent(event));
                  position = event.id;
                }
                if (events.length < BATCH) break;
              }
            } while (again && !ended);
          } catch (error) {
            request.log.warn({ err: error }, 'device event stream ended');
            end();
          } finally {
            pumping = undefined;
          }
        })();
      };
      unsubscribe = await listener.subscribe({
        notified: pump,
        lost: (error) => {
          request.log.warn({ err: error }, 'LISTEN connection lost; ending device event streams');
          unsubscribe = undefined;
          end();
        },
      });
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-request-id': request.id,
      });
      open.add(end);
      res.on('close', end);
      heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      res.write(`retry: 2000\n: events after ${position}\n\n`);
      pump();
    },
  );
};

import type { FastifyPluginAsync } from 'fastify';
import { actorOf } from '../../auth/plugin';
import { inTransaction } from '../../db/transaction';
import { notFound } from '../../http-errors';
import { normaliseReport, type ReportBody } from '../../ingest/report';
import { ouiTable } from '../../ingest/vendor';
import { recordAudit } from '../../repositories/audit';
import { type DeviceFilter, ingestReport, listDevices } from '../../repositories/devices';
import { responses } from '../../schemas/common';
import { deviceQuerySchema, reportResultSchema, reportSchema } from '../../schemas/devices';
import { siteParams } from '../../schemas/sites';

export interface DeviceRouteOptions {
  offlineAfterMissedScans: number;
}

export const deviceRoutes: FastifyPluginAsync<DeviceRouteOptions> = async (app, options) => {
  // Start loading the OUI registry now, so that the first report does not wait for it.
  ouiTable().catch((error) => app.log.warn({ err: error }, 'OUI registry failed to load'));
  app.post<{ Params: { number: number }; Body: ReportBody }>(
    '/api/sites/:number/devices',
    {
      config: { auth: 'site-scanner' },
      schema: {
        tags: ['devices'],
        summary: "a scanner's report of the devices it found on its site",
        description:
          "Rules beyond the schema: every `ip` must be inside the site's 10.8.N.0/24; `scannedAt` may be at most 10 " +
          "minutes ahead of the controller's clock; the site must be registered (404). A report with a `scannedAt` " +
          'already processed changes nothing (`duplicate`); one older than the newest is `stale` (no device marked offline).',
        params: siteParams,
        body: reportSchema,
        response: responses({ 200: reportResultSchema }),
      },
    },
    async (request) => {
      const site = request.params.number;
      const report = normaliseReport(site, request.body);
      const oui = await ouiTable();
      const counts = await inTransaction(app.db, async (client) => {
        const result = await ingestReport(client, site, report, {
          offlineAfterMissedScans: options.offlineAfterMissedScans,
          oui,
        });
        if (result && !result.duplicate) {
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: 'devices.report',
            target: `site:${site}`,
            detail: {
              scannedAt: report.scannedAt.toISOString(),
              received: result.received,
              created: result.created,
              updated: result.updated,
              markedOffline: result.markedOffline,
              stale: result.stale,
            },
            requestId: request.id,
          });
        }
        return result;
      });
      if (!counts) throw notFound(`site ${site} is not registered`);
      return counts;
    },
  );

  app.get<{ Querystring: DeviceFilter }>(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'the inventory, filtered by site, online state or MAC',
        querystring: deviceQuerySchema,
        response: responses({
          200: {
            type: 'object',
            required: ['devices'],
            properties: { devices: { type: 'array', items: { $ref: 'Device#' } } },
          },
        }),
      },
    },
    async (request) => ({ devices: await listDevices(app.db, request.query) }),
  );
};

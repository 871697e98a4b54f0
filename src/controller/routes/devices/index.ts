import type { FastifyPluginAsync } from 'fastify';
import pLimit from 'p-limit';
import { actorOf } from '../../auth/plugin';
import { inTransaction } from '../../db/transaction';
import { badRequest, notFound } from '../../http-errors';
import { normaliseReport, type ReportBody } from '../../ingest/report';
import { ouiTable } from '../../ingest/vendor';
import { recordAudit } from '../../repositories/audit';
import { type DeviceFilter, ingestReport, listDevicePage, setOfflineAfter } from '../../repositories/devices';
import { responses } from '../../schemas/common';
import {
  DEFAULT_DEVICE_PAGE,
  devicePageSchema,
  deviceQuerySchema,
  offlineAfterResultSchema,
  offlineAfterSchema,
  reportResultSchema,
  reportSchema,
} from '../../schemas/devices';
import { siteParams } from '../../schemas/sites';
import { decodeCursor, encodeCursor } from './cursor';
import { deviceEventRoutes } from './events';

interface DeviceQuery {
  site?: number;
  sites?: string;
  online?: boolean;
  mac?: string;
  firstSeenSince?: string;
  limit?: number;
  after?: string;
}

/** The query's filter; `site` and `sites` together ask for the sites in both. */
function filterOf(query: DeviceQuery): DeviceFilter {
  let sites: number[] | undefined;
  if (query.sites !== undefined) {
    sites = query.sites.split(',').map(Number);
    const outside = sites.find((n) => n > 255);
    if (outside !== undefined) throw badRequest(`sites: ${outside} is not a site number (0-255)`);
  }
  if (query.site !== undefined) sites = sites ? sites.filter((n) => n === query.site) : [query.site];
  return {
    sites,
    online: query.online,
    mac: query.mac,
    firstSeenSince: query.firstSeenSince === undefined ? undefined : new Date(query.firstSeenSince),
  };
}

/**
 * Scanners of every site report in the same minute. More reports applied at once than the database has
 * cores to run them only contend for the same index pages and table extension (on the 2-core test
 * machine, a region's first ingest took 2.19 s at 8 and 2.54 s at the pool's 20, medians of four runs);
 * the rest wait here, parsed and validated, and the pool keeps connections free for other requests.
 */
const REPORTS_APPLIED_AT_ONCE = 8;

export interface DeviceRouteOptions {
  offlineAfterMissedScans: number;
}

export const deviceRoutes: FastifyPluginAsync<DeviceRouteOptions> = async (app, options) => {
  // Start loading the OUI registry now, so that the first report does not wait for it.
  ouiTable().catch((error) => app.log.warn({ err: error }, 'OUI registry failed to load'));
  const applying = pLimit(REPORTS_APPLIED_AT_ONCE);
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
      const counts = await applying(() =>
        inTransaction(app.db, async (client) => {
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
        }),
      );
      if (!counts) throw notFound(`site ${site} is not registered`);
      return counts;
    },
  );

  app.get<{ Querystring: DeviceQuery }>(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'the inventory in pages (order: site, ip, id), filtered by site, online state, MAC or age',
        description:
          'Follow `next` (pass it as `after`) until it is null. A page holds `limit` devices (default 1000, at most 5000).',
        querystring: deviceQuerySchema,
        response: responses({ 200: devicePageSchema }),
      },
    },
    async (request) => {
      const page = await listDevicePage(app.db, filterOf(request.query), {
        after: request.query.after === undefined ? undefined : decodeCursor(request.query.after),
        limit: request.query.limit ?? DEFAULT_DEVICE_PAGE,
      });
      return { devices: page.devices, next: page.next ? encodeCursor(page.next) : null };
    },
  );

  app.put<{ Params: { number: number }; Body: { missedScans: number | null } }>(
    '/api/sites/:number/offline-after',
    {
      schema: {
        tags: ['devices'],
        summary: 'how many consecutive missed scans make a device of this site offline (null: the default)',
        params: siteParams,
        body: offlineAfterSchema,
        response: responses({ 200: offlineAfterResultSchema }),
      },
    },
    async (request) => {
      const site = request.params.number;
      const { missedScans } = request.body;
      const found = await inTransaction(app.db, async (client) => {
        const updated = await setOfflineAfter(client, site, missedScans);
        if (updated)
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: 'sites.offline-after',
            target: `site:${site}`,
            detail: { missedScans },
            requestId: request.id,
          });
        return updated;
      });
      if (!found) throw notFound(`site ${site} is not registered`);
      return { site, missedScans, effective: missedScans ?? options.offlineAfterMissedScans };
    },
  );

  await app.register(deviceEventRoutes);
};

import type { Context } from '../context';
import type { Device } from '../controller/api-types';
import { type DeviceSelection, devicePageQuery } from './selection';

export interface DeviceList {
  devices: Device[];
  count: number;
  online: number;
  offline: number;
  /** Requests it took (pages of the controller's cursor). */
  pages: number;
}

/** The region's inventory as the controller holds it, every page, in the controller's order (site, ip). */
export async function listDevices(ctx: Context, selection: DeviceSelection): Promise<DeviceList> {
  const { connectController } = await import('../controller-client/connect');
  const controller = await connectController(ctx);
  const pageSize = controller.transport.devicePageSize;
  const devices: Device[] = [];
  let pages = 0;
  await ctx.io.track(
    'devices',
    async () => {
      let after: string | undefined;
      do {
        const page = await controller.listDevicePage(devicePageQuery(selection, pageSize, after));
        pages += 1;
        for (const d of page.devices) devices.push(d);
        after = page.next ?? undefined;
        if (after) ctx.io.debug(`devices: ${devices.length} so far`);
      } while (after);
    },
    () => `${devices.length} from ${controller.transport.description} in ${pages} page(s)`,
  );
  const online = devices.filter((d) => d.online).length;
  return { devices, count: devices.length, online, offline: devices.length - online, pages };
}

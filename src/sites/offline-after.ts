import type { Context } from '../context';
import type { OfflineAfter } from '../controller/api-types';
import { ControllerError } from '../errors';

/** `sites --set N --offline-after M|default`: the site's presence threshold, kept by the controller. */
export async function setSiteOfflineAfter(
  ctx: Context,
  site: number,
  missedScans: number | null,
): Promise<OfflineAfter> {
  const { connectController } = await import('../controller-client/connect');
  const controller = await connectController(ctx);
  const result = await controller.setOfflineAfter(site, missedScans);
  if (!result) {
    throw new ControllerError(
      `the controller does not know site ${site}; register it with \`wavectl sites --add\` (or run it again to finish)`,
    );
  }
  return result;
}

export const renderOfflineAfter = (r: OfflineAfter): string =>
  `site ${r.site}: a device is offline after ${r.effective} consecutive missed scan(s)${r.missedScans === null ? " (the controller's default)" : ''}`;

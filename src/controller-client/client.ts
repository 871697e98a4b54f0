import type { SealedSecret } from '../controller/auth/sealed-box';
import { ControllerError } from '../errors';
import type { Group, GroupInput } from './group-types';
import type {
  AccessServer,
  AccessServerInput,
  ControllerRequest,
  ControllerTransport,
  DevicePage,
  OfflineAfter,
  Site,
  SiteInput,
} from './types';
import { unavailableRetryDelayMs } from './unavailable-retry';
import type { User, UserChanges, UserInput } from './user-types';

export type { Device as ExportedDevice } from '../controller/api-types';
/** A user as GET /users lists it (never a password hash), and a device as GET /api/devices lists it. */
export type { User as ExportedUser } from './user-types';

/**
 * The controller's API as wavectl uses it. Every call is one round trip of the transport; `roundTrips`
 * counts them (a batch of registrations is one).
 */
export class ControllerClient {
  roundTrips = 0;
  /** `onUnavailable` hears of each wait for a controller that answered 503, so a long wait shows progress. */
  constructor(
    readonly transport: ControllerTransport,
    private readonly onUnavailable?: (message: string) => void,
  ) {}

  private async call<T>(
    request: ControllerRequest,
    accept: number[] = [200],
  ): Promise<{ status: number; body: T }> {
    let response = await this.send(request);
    for (let attempt = 1, waitedMs = 0; ; attempt++) {
      const delayMs = unavailableRetryDelayMs(request, response, attempt, waitedMs);
      if (delayMs === undefined) break;
      const code = (response.body as { error?: { code?: string } } | undefined)?.error?.code ?? 'unavailable';
      this.onUnavailable?.(
        `the controller answered 503 ${code} (${request.method} ${request.path}); asking again in ${Math.ceil(delayMs / 1000)} s`,
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      waitedMs += delayMs;
      response = await this.send(request);
    }
    if (!accept.includes(response.status)) {
      const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
      const reason = error?.message ?? (typeof response.body === 'string' ? response.body : 'no detail');
      throw new ControllerError(
        `controller refused ${request.method} ${request.path} (${this.transport.description}): HTTP ${response.status} ${reason}${response.status === 401 ? ' — check the API key (WAVESHIFT_API_KEY, or the deployment’s key in SSM)' : ''}`,
        { status: response.status },
      );
    }
    return { status: response.status, body: response.body as T };
  }

  private send(request: ControllerRequest) {
    this.roundTrips += 1;
    return this.transport.send(request);
  }

  async listSites(): Promise<Site[]> {
    return (await this.call<{ sites: Site[] }>({ method: 'GET', path: '/api/sites' })).body.sites;
  }

  /** One site as the controller sees it; undefined when it does not know the site. */
  async getSite(number: number): Promise<Site | undefined> {
    const { status, body } = await this.call<{ site: Site }>(
      { method: 'GET', path: `/api/sites/${number}` },
      [200, 404],
    );
    return status === 404 ? undefined : body.site;
  }

  /** Registers many sites in one request (one transaction on the controller). */
  async putSites(sites: readonly SiteInput[]): Promise<Site[]> {
    if (sites.length === 0) return [];
    return (await this.call<{ sites: Site[] }>({ method: 'PUT', path: '/api/sites', body: { sites } })).body
      .sites;
  }

  async deleteSite(number: number): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>({ method: 'DELETE', path: `/api/sites/${number}` })).body
      .deleted;
  }

  async listAccessServers(): Promise<AccessServer[]> {
    return (
      await this.call<{ accessServers: AccessServer[] }>({ method: 'GET', path: '/api/access-servers' })
    ).body.accessServers;
  }

  async putAccessServers(servers: readonly AccessServerInput[]): Promise<AccessServer[]> {
    if (servers.length === 0) return [];
    return (
      await this.call<{ accessServers: AccessServer[] }>({
        method: 'PUT',
        path: '/api/access-servers',
        body: { accessServers: servers },
      })
    ).body.accessServers;
  }

  /** Makes the key with this SHA-256 the deployment key; the current one stays valid for `graceSeconds`. */
  async rotateDeploymentKey(
    keyHash: string,
    graceSeconds: number,
  ): Promise<{ previousValidUntil: string | null }> {
    return (
      await this.call<{ previousValidUntil: string | null }>({
        method: 'PUT',
        path: '/api/deployment-key',
        body: { keyHash, graceSeconds },
        once: true,
      })
    ).body;
  }

  async deleteAccessServer(index: number): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>({ method: 'DELETE', path: `/api/access-servers/${index}` }))
      .body.deleted;
  }

  /** One page of the inventory; `query` holds the filter and `after` (URL-encoded). */
  async listDevicePage(query: URLSearchParams): Promise<DevicePage> {
    const text = query.toString();
    return (await this.call<DevicePage>({ method: 'GET', path: `/api/devices${text ? `?${text}` : ''}` }))
      .body;
  }

  /** Sets a site's missed scans before offline (null: the controller's default); undefined for an unknown site. */
  async setOfflineAfter(site: number, missedScans: number | null): Promise<OfflineAfter | undefined> {
    const { status, body } = await this.call<OfflineAfter>(
      { method: 'PUT', path: `/api/sites/${site}/offline-after`, body: { missedScans } },
      [200, 404],
    );
    return status === 404 ? undefined : body;
  }

  /**
   * The stream of device events (server-sent events), resumed after `lastEventId` when given. Only over
   * HTTP: the SSM relay returns whole answers, never a stream.
   */
  async openDeviceEvents(
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    if (!this.transport.openStream) {
      throw new ControllerError(
        `the device event stream needs a direct HTTP connection, not ${this.transport.description}: set controller.url`,
      );
    }
    this.roundTrips += 1;
    return this.transport.openStream(
      '/api/devices/events',
      { Accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }) },
      signal,
    );
  }

  async listUsers(): Promise<User[]> {
    return (await this.call<{ users: User[] }>({ method: 'GET', path: '/users' })).body.users;
  }

  async createUser(user: UserInput): Promise<User> {
    return (await this.call<{ user: User }>({ method: 'POST', path: '/users', body: user }, [201])).body.user;
  }

  async updateUser(id: number, changes: UserChanges): Promise<User> {
    return (await this.call<{ user: User }>({ method: 'PATCH', path: `/users/${id}`, body: changes })).body
      .user;
  }

  /** Turns TOTP on; the secret comes back sealed to `recipientPublicKey` (controller/auth/sealed-box.ts). */
  async enableTotp(id: number, recipientPublicKey: string): Promise<{ user: User; sealed: SealedSecret }> {
    return (
      await this.call<{ user: User; sealed: SealedSecret }>({
        method: 'POST',
        path: `/users/${id}/totp`,
        body: { recipientPublicKey },
      })
    ).body;
  }

  async disableTotp(id: number): Promise<User> {
    return (await this.call<{ user: User }>({ method: 'DELETE', path: `/users/${id}/totp` })).body.user;
  }

  async deleteUser(id: number): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>({ method: 'DELETE', path: `/users/${id}` })).body.deleted;
  }

  async listGroups(): Promise<Group[]> {
    return (await this.call<{ groups: Group[] }>({ method: 'GET', path: '/api/groups' })).body.groups;
  }

  async createGroup(group: GroupInput): Promise<Group> {
    return (await this.call<{ group: Group }>({ method: 'POST', path: '/api/groups', body: group }, [201]))
      .body.group;
  }

  async deleteGroup(id: number): Promise<boolean> {
    return (await this.call<{ deleted: boolean }>({ method: 'DELETE', path: `/api/groups/${id}` })).body
      .deleted;
  }

  /** Adds (`member: true`) or removes a member; `changed` is false when it was so already. */
  async setMember(
    groupId: number,
    userId: number,
    member: boolean,
  ): Promise<{ group: Group; changed: boolean }> {
    return (
      await this.call<{ group: Group; changed: boolean }>({
        method: member ? 'PUT' : 'DELETE',
        path: `/api/groups/${groupId}/members/${userId}`,
      })
    ).body;
  }
}

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import type { ExportedDevice, ExportedUser } from '../controller-client/client';
import { connectController } from '../controller-client/connect';
import type { Site } from '../controller-client/types';
import { listDevices } from '../devices/list';
import { ControllerError, UsageError } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { renderTable } from '../io/output';
import { type Cell, toCsv } from './csv';

export const EXPORT_KINDS = ['sites', 'users', 'devices'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ExportedSite {
  number: number;
  name: string;
  cidr: string;
  accessServer: number;
  publicKey: string;
  /** The router wavectl reaches (recorded by configure-hub), when known. */
  routerHost: string | null;
  registered: boolean;
  lastReportAt: string | null;
  deviceCount: number | null;
  onlineCount: number | null;
}

export interface ExportData {
  sites?: ExportedSite[];
  users?: ExportedUser[];
  devices?: ExportedDevice[];
}

/** Pure: wavectl.json's sites joined with what the controller knows of them. */
export function exportedSites(
  config: Pick<WavectlConfig, 'sites'>,
  registered: readonly Site[],
): ExportedSite[] {
  const known = new Map(registered.map((s) => [s.number, s]));
  return config.sites.map((s) => {
    const c = known.get(s.number);
    return {
      number: s.number,
      name: s.name,
      cidr: `10.8.${s.number}.0/24`,
      accessServer: s.accessServer,
      publicKey: s.publicKey,
      routerHost: s.router?.host ?? null,
      registered: c !== undefined,
      lastReportAt: c?.lastReportAt ?? null,
      deviceCount: c?.deviceCount ?? null,
      onlineCount: c?.onlineCount ?? null,
    };
  });
}

const COLUMNS = {
  sites: [
    'number',
    'name',
    'cidr',
    'accessServer',
    'publicKey',
    'routerHost',
    'registered',
    'lastReportAt',
    'deviceCount',
    'onlineCount',
  ],
  users: ['id', 'username', 'displayName', 'role', 'disabled', 'totp', 'createdAt', 'updatedAt'],
  devices: ['site', 'ip', 'mac', 'hostname', 'vendor', 'online', 'firstSeen', 'lastSeen', 'missedScans'],
} as const;

/** Pure: one kind as a table, columns in a fixed order. */
export function exportTable(kind: ExportKind, data: ExportData): { headers: string[]; rows: Cell[][] } {
  const headers: string[] = [...COLUMNS[kind]];
  const rows = ((data[kind] ?? []) as unknown as Record<string, Cell>[]).map((r) =>
    headers.map((c) => r[c] ?? null),
  );
  return { headers, rows };
}

export function exportCsv(kind: ExportKind, data: ExportData): string {
  const { headers, rows } = exportTable(kind, data);
  return toCsv(headers, rows);
}

export function renderExport(kinds: readonly ExportKind[], data: ExportData): string {
  return kinds
    .map((kind) => {
      const { headers, rows } = exportTable(kind, data);
      return `${kind} (${rows.length})\n${renderTable(
        headers,
        rows.map((r) => r.map((c) => (c === null ? '-' : String(c)))),
      )}`;
    })
    .join('\n\n');
}

/** `wavectl export`: sites (wavectl.json and the controller), users and devices (the controller). */
export async function collectExport(ctx: Context, kinds: readonly ExportKind[]): Promise<ExportData> {
  if (kinds.length === 0) throw new UsageError('export needs at least one of --sites, --users, --devices');
  const config = await ctx.loadConfig();
  const aws = await ctx.aws();
  if (!config.controller.url && aws.target.endpointUrl) {
    throw new ControllerError(
      'under an AWS emulator no SSM command runs, so the controller cannot be reached through SSM: set controller.url to a local `wavectl controller serve`',
    );
  }
  const controller = await connectController(ctx);
  const data: ExportData = {};
  if (kinds.includes('sites')) {
    data.sites = exportedSites(
      config,
      await ctx.io.track('read sites from the controller', () => controller.listSites()),
    );
  }
  if (kinds.includes('users')) data.users = await ctx.io.track('read users', () => controller.listUsers());
  // Every page of the inventory: the controller answers in pages of at most 5,000 devices.
  if (kinds.includes('devices')) data.devices = (await listDevices(ctx, {})).devices;
  return data;
}

/** Writes each kind to `<dir>/<kind>.csv` (or .json), atomically; returns the files. */
export async function writeExport(
  dir: string,
  kinds: readonly ExportKind[],
  data: ExportData,
  format: 'csv' | 'json',
): Promise<string[]> {
  const target = resolve(dir);
  await mkdir(target, { recursive: true });
  const files: string[] = [];
  for (const kind of kinds) {
    const file = join(target, `${kind}.${format}`);
    await writeFileAtomic(
      file,
      format === 'csv' ? exportCsv(kind, data) : `${JSON.stringify(data[kind], null, 2)}\n`,
    );
    files.push(file);
  }
  return files;
}

/**
 * The vendor of a MAC address from its OUI (first three bytes), using the IEEE registry as packaged by
 * `oui-data` (maintained, regenerated from the IEEE's public listing). Keys are six upper-case hex digits;
 * values are the organisation's name followed by its address lines.
 */
export type OuiTable = Readonly<Record<string, string>>;

export function vendorOf(mac: string | null, table: OuiTable): string | null {
  if (!mac) return null;
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 12) return null;
  // Locally administered addresses (randomised "private" MACs of phones, virtual NICs) have no vendor.
  if ((Number.parseInt(hex.slice(0, 2), 16) & 0x02) !== 0) return null;
  const entry = table[hex.slice(0, 6)];
  if (!entry) return null;
  return entry.split('\n')[0]?.trim() || null;
}

let loaded: Promise<OuiTable> | undefined;

/** The registry, loaded on first use (5 MB of JSON: the CLI never pays for it unless it serves). */
export function ouiTable(): Promise<OuiTable> {
  loaded ??= import('oui-data', { with: { type: 'json' } }).then(
    (m) => (m as unknown as { default: OuiTable }).default,
  );
  return loaded;
}

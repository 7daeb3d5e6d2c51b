/** A stateful in-memory Route 53 (zones and records in maps) for the resolver tests. */
import type { ChangeStatus, HostedZone, RecordChange, RecordSet, Route53Port } from '../../../shared/ports';

export class InMemoryRoute53 implements Route53Port {
  private readonly zones: HostedZone[];
  private readonly records = new Map<string, RecordSet[]>();
  /** Names looked up with listRecords, in order. */
  readonly lookups: string[] = [];

  constructor(zones: Array<{ id: string; name: string }>) {
    this.zones = zones.map((z) => ({ ...z, privateZone: false }));
    for (const z of zones) this.records.set(z.id, []);
  }

  put(zoneId: string, record: RecordSet): void {
    const list = this.records.get(zoneId) ?? [];
    this.records.set(zoneId, [...list.filter((r) => !(r.name === record.name && r.type === record.type)), record]);
  }

  async findHostedZone(domain: string): Promise<HostedZone | undefined> {
    return this.zones
      .filter((z) => domain === z.name || domain.endsWith(`.${z.name}`))
      .sort((a, b) => b.name.length - a.name.length)[0];
  }

  async getHostedZone(id: string): Promise<HostedZone | undefined> {
    return this.zones.find((z) => z.id === id);
  }

  async listRecords(zoneId: string, name: string): Promise<RecordSet[]> {
    this.lookups.push(name);
    return (this.records.get(zoneId) ?? []).filter((r) => r.name === name);
  }

  async changeRecords(zoneId: string, changes: RecordChange[]): Promise<{ changeId: string; status: ChangeStatus }> {
    for (const c of changes) {
      if (c.action === 'DELETE') {
        this.records.set(zoneId, (this.records.get(zoneId) ?? []).filter((r) => !(r.name === c.record.name && r.type === c.record.type)));
      } else this.put(zoneId, c.record);
    }
    return { changeId: 'C1', status: 'INSYNC' };
  }

  async getChange(): Promise<ChangeStatus> {
    return 'INSYNC';
  }
}

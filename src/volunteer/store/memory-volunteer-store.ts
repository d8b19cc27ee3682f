/**
 * The VolunteerStore in memory, with the IndexedDB store's semantics: the same errors, and
 * copies in and out (IndexedDB clones every value), so tests of the session written against
 * this store hold for the durable one. Each method does all its work before its first await,
 * which makes it atomic as an IndexedDB transaction is.
 */
import { ErrorCode, TabgridError } from '../../errors';
import type { TileConfig } from '../../gpu/tune-cache';
import type { Receipt, WorkUnit } from '../../protocol';
import { HeldState, type Checkpoint, type DonorProfile, type FinishedResult, type HeldUnit, type VolunteerStore } from './volunteer-store';

interface Entry {
  hostId: string;
  unit: WorkUnit;
  state: HeldState;
  done: number;
  data: Uint8Array;
  root?: string;
  backend?: HeldUnit['backend'];
  updatedAt: number;
}

export class MemoryVolunteerStore implements VolunteerStore {
  /** host → unitId → entry; a Map keeps insertion order, which is the order held. */
  private readonly units = new Map<string, Map<string, Entry>>();
  private readonly receiptLog: { hostId: string; receipt: Receipt }[] = [];
  private readonly settings = new Map<string, unknown>();
  private readonly tune = new Map<string, TileConfig>();
  private keyPair: CryptoKeyPair | undefined;
  private profile: DonorProfile | undefined;
  private closed = false;

  async held(hostId: string): Promise<HeldUnit[]> {
    this.check();
    return [...(this.units.get(hostId)?.values() ?? [])].map((e) => ({
      hostId: e.hostId,
      unit: structuredClone(e.unit),
      state: e.state,
      done: e.done,
      data: e.data.slice(),
      ...(e.root === undefined ? {} : { root: e.root }),
      ...(e.backend === undefined ? {} : { backend: e.backend }),
      updatedAt: e.updatedAt,
    }));
  }

  async hold(hostId: string, unit: WorkUnit): Promise<void> {
    this.check();
    let host = this.units.get(hostId);
    if (!host) this.units.set(hostId, (host = new Map()));
    if (host.has(unit.unitId)) return;
    host.set(unit.unitId, { hostId, unit: structuredClone(unit), state: HeldState.Queued, done: 0, data: new Uint8Array(0), updatedAt: Date.now() });
  }

  async checkpoint(hostId: string, unitId: string, { done, atBytes, append }: Checkpoint): Promise<void> {
    this.check();
    const e = this.entry(hostId, unitId, 'checkpoint');
    if (e.state === HeldState.Sent) throw new TabgridError(ErrorCode.Storage, `cannot checkpoint unit ${unitId}: it is already finished`);
    if (e.data.length !== atBytes) {
      throw new TabgridError(ErrorCode.Storage, `stale checkpoint of unit ${unitId}: it appends at byte ${atBytes} but ${e.data.length} bytes are stored`);
    }
    const data = new Uint8Array(e.data.length + append.length);
    data.set(e.data);
    data.set(append, e.data.length);
    Object.assign(e, { state: HeldState.Computing, done, data, updatedAt: Date.now() });
  }

  async finish(hostId: string, unitId: string, { done, data, root, backend }: FinishedResult): Promise<void> {
    this.check();
    const e = this.entry(hostId, unitId, 'finish');
    Object.assign(e, { state: HeldState.Sent, done, data: data.slice(), root, backend, updatedAt: Date.now() });
  }

  async forget(hostId: string, unitId: string): Promise<void> {
    this.check();
    this.units.get(hostId)?.delete(unitId);
  }

  async settle(hostId: string, unitId: string, receipt?: Receipt): Promise<void> {
    this.check();
    if (receipt && !this.receiptLog.some((r) => r.receipt.receiptId === receipt.receiptId)) {
      this.receiptLog.push({ hostId, receipt: structuredClone(receipt) });
    }
    this.units.get(hostId)?.delete(unitId);
  }

  async receipts(hostId?: string): Promise<Receipt[]> {
    this.check();
    return this.receiptLog.filter((r) => hostId === undefined || r.hostId === hostId).map((r) => structuredClone(r.receipt));
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    this.check();
    return structuredClone(this.settings.get(key)) as T | undefined;
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    this.check();
    // Cloned now, so a value IndexedDB could not store (a function, say) fails here too.
    this.settings.set(key, structuredClone(value));
  }

  async getKeyPair(): Promise<CryptoKeyPair | undefined> {
    this.check();
    // CryptoKeys are immutable; the pair object is copied so a caller cannot swap its keys.
    return this.keyPair && { publicKey: this.keyPair.publicKey, privateKey: this.keyPair.privateKey };
  }

  async putKeyPair(pair: CryptoKeyPair): Promise<void> {
    this.check();
    this.keyPair = { publicKey: pair.publicKey, privateKey: pair.privateKey };
  }

  async getProfile(): Promise<DonorProfile | undefined> {
    this.check();
    return this.profile && { ...this.profile };
  }

  async putProfile(profile: DonorProfile): Promise<void> {
    this.check();
    this.profile = { ...(profile.name === undefined ? {} : { name: profile.name }), ...(profile.team === undefined ? {} : { team: profile.team }) };
  }

  async getTune(key: string): Promise<TileConfig | undefined> {
    this.check();
    const config = this.tune.get(key);
    return config && { ...config };
  }

  async setTune(key: string, config: TileConfig): Promise<void> {
    this.check();
    this.tune.set(key, { ...config });
  }

  close(): void {
    this.closed = true;
  }

  private entry(hostId: string, unitId: string, what: string): Entry {
    const e = this.units.get(hostId)?.get(unitId);
    if (!e) throw new TabgridError(ErrorCode.Storage, `cannot ${what} unit ${unitId}: it is not held for host ${hostId}`);
    return e;
  }

  private check(): void {
    if (this.closed) throw new TabgridError(ErrorCode.Storage, 'the volunteer store is closed');
  }
}

import {
  latestEvent,
  formatIssues,
  type EventDataInput,
  type EventOf,
  type EventType,
  type Job,
  type JobKind,
  type JobStatus,
} from '@reelbus/contracts';
import { Readable } from 'node:stream';
import { effectiveRetention, type PutOptions, type Retention } from '@reelbus/kit';
import type { BlobInfo, BlobStore, IngestBus, JobStore, JobWatch } from '../deps.ts';

/** A bus that keeps what it publishes, dedupes by event id like JetStream, and feeds watchers. */
export class MemoryBus implements IngestBus {
  readonly events: EventOf<EventType>[] = [];
  private readonly seen = new Map<string, EventOf<EventType>>();
  private readonly watchers = new Set<{
    jobId: string | undefined;
    onEvent: (e: EventOf<EventType>) => void;
  }>();

  async publish<T extends EventType>(
    type: T,
    jobId: string,
    data: EventDataInput<T>,
    opts: { id?: string; testMode?: boolean } = {},
  ): Promise<EventOf<T>> {
    const def = latestEvent(type);
    const parsed = def.data.safeParse(data);
    if (!parsed.success) throw new Error(`invalid ${type}: ${formatIssues(parsed.error)}`);
    const id = opts.id ?? `${type}:${jobId}:${Math.random().toString(36).slice(2)}`;
    const prior = this.seen.get(id);
    if (prior) return prior as unknown as EventOf<T>;
    const event = {
      id,
      type,
      version: def.version,
      jobId,
      occurredAt: new Date().toISOString(),
      // as the kit's bus does: a test run's events say so
      ...(opts.testMode ? { testMode: true } : {}),
      data: parsed.data,
    } as unknown as EventOf<EventType>;
    this.seen.set(id, event);
    this.events.push(event);
    for (const w of this.watchers) if (w.jobId === undefined || w.jobId === jobId) w.onEvent(event);
    return event as unknown as EventOf<T>;
  }

  watchJob(jobId: string, onEvent: (e: EventOf<EventType>) => void): JobWatch {
    const w = { jobId, onEvent };
    this.watchers.add(w);
    return { stop: () => void this.watchers.delete(w) };
  }

  watchEvents(onEvent: (e: EventOf<EventType>) => void): JobWatch & { ready: Promise<void> } {
    const w = { jobId: undefined, onEvent };
    this.watchers.add(w);
    return { stop: () => void this.watchers.delete(w), ready: Promise.resolve() };
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  ofType<T extends EventType>(type: T): EventOf<T>[] {
    return this.events.filter((e) => e.type === type) as unknown as EventOf<T>[];
  }
}

/** A job store in a Map, with the JobStore contract's create-or-return semantics. */
export class MemoryJobStore implements JobStore {
  readonly kind = 'kv' as const;
  private readonly jobs = new Map<string, Job>();

  async create(job: Job) {
    const existing =
      this.jobs.get(job.id) ?? (job.dedupeKey ? await this.findByDedupeKey(job.dedupeKey) : undefined);
    if (existing) return { created: false, job: structuredClone(existing) };
    this.jobs.set(job.id, structuredClone(job));
    return { created: true, job: structuredClone(job) };
  }
  async get(id: string) {
    const j = this.jobs.get(id);
    return j && structuredClone(j);
  }
  async findByDedupeKey(key: string) {
    for (const j of this.jobs.values()) if (j.dedupeKey === key) return structuredClone(j);
    return undefined;
  }
  async update(id: string, mutate: (job: Job) => Job | undefined) {
    const cur = this.jobs.get(id);
    if (!cur) throw new Error(`job ${id} not found`);
    const next = mutate(structuredClone(cur));
    if (next) this.jobs.set(id, { ...next, updatedAt: new Date().toISOString() });
    return structuredClone(this.jobs.get(id)!);
  }
  async list(opts: { limit?: number; status?: JobStatus; kind?: JobKind } = {}) {
    return [...this.jobs.values()]
      .filter((j) => (!opts.status || j.status === opts.status) && (!opts.kind || j.kind === opts.kind))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, opts.limit ?? 100)
      .map((j) => structuredClone(j));
  }
  async delete(id: string) {
    this.jobs.delete(id);
  }
  async close() {}
}

/** A blob store in memory; `presignBase` makes it behave like S3 (presign returns a URL). */
export class MemoryBlobStore implements BlobStore {
  readonly kind: 'fs' | 's3';
  readonly blobs = new Map<string, { bytes: Buffer; contentType?: string; retention?: Retention }>();
  constructor(private readonly opts: { presignBase?: string } = {}) {
    this.kind = opts.presignBase ? 's3' : 'fs';
  }
  async put(key: string, body: Readable | Uint8Array | string, o: PutOptions = {}): Promise<BlobInfo> {
    let bytes: Buffer;
    if (typeof body === 'string') bytes = Buffer.from(body);
    else if (body instanceof Uint8Array) bytes = Buffer.from(body);
    else {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      bytes = Buffer.concat(chunks);
    }
    const retention = effectiveRetention(key, o.retention);
    this.blobs.set(key, {
      bytes,
      ...(o.contentType ? { contentType: o.contentType } : {}),
      ...(retention ? { retention } : {}),
    });
    return { key, size: bytes.length, ...(o.contentType ? { contentType: o.contentType } : {}) };
  }
  async putFile(): Promise<BlobInfo> {
    throw new Error('MemoryBlobStore.putFile is not used by ingest');
  }
  async get(key: string, o: { range?: { start: number; end?: number } } = {}): Promise<Readable> {
    const b = this.blobs.get(key);
    if (!b) throw Object.assign(new Error(`no blob ${key}`), { name: 'BlobNotFoundError' });
    const bytes = o.range
      ? b.bytes.subarray(o.range.start, (o.range.end ?? b.bytes.length - 1) + 1)
      : b.bytes;
    return Readable.from([bytes]);
  }
  async download(): Promise<void> {
    throw new Error('MemoryBlobStore.download is not used by ingest');
  }
  async stat(key: string): Promise<BlobInfo | undefined> {
    const b = this.blobs.get(key);
    return b && { key, size: b.bytes.length, ...(b.contentType ? { contentType: b.contentType } : {}) };
  }
  async retentionOf(key: string): Promise<Retention | undefined> {
    return this.blobs.get(key)?.retention;
  }
  async delete(key: string) {
    this.blobs.delete(key);
  }
  async list(prefix: string): Promise<BlobInfo[]> {
    return [...this.blobs.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, b]) => ({ key, size: b.bytes.length }));
  }
  async presign(key: string): Promise<string | undefined> {
    return this.opts.presignBase ? `${this.opts.presignBase}/${key}?X-Amz-Signature=fake` : undefined;
  }
  localPath(): string | undefined {
    return undefined;
  }
}

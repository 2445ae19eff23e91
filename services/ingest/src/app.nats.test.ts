import { newJob, type EventOf, type EventType } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore, silentLogger } from '@reelbus/kit';
import { randomNamespace, startNatsServer, type NatsServerHandle } from '@reelbus/kit/testing';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { openLimitStores, usageBuckets } from './limits/buckets.ts';
import { KvCasMap } from './limits/cas-map.ts';
import {
  auth,
  fullJob,
  makeStereoWav,
  multipartBody,
  openSse,
  testConfig,
  twilioCallback,
  twilioRequest,
} from './testing/helpers.ts';

// The app on the real parts: a nats-server, the kit Bus, the JetStream KV job store, the filesystem blob store.
let server: NatsServerHandle;
let bus: Bus;
let jobs: KvJobStore;
let blobs: FsBlobStore;
let blobDir: string;
let app: FastifyInstance;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await Bus.connect({ servers: server.url, namespace: randomNamespace(), name: 'ingest-test' });
  await bus.ensureStreams();
  jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
  blobDir = await mkdtemp(join(tmpdir(), 'reelbus-ingest-'));
  blobs = new FsBlobStore({ root: blobDir });
  app = buildApp({ config: testConfig(), bus, jobs, blobs, logger: silentLogger(), sseHeartbeatMs: 1000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await jobs?.close();
  await bus?.close();
  await server?.stop();
  if (blobDir) await rm(blobDir, { recursive: true, force: true });
});

/** Events of `type` for `jobId` stored in the events stream. */
async function storedEvents(type: EventType, jobId: string): Promise<EventOf<EventType>[]> {
  const subject = bus.names.eventSubject(type);
  const info = await bus.jsm.streams.info(bus.names.eventsStream, { subjects_filter: subject });
  const out: EventOf<EventType>[] = [];
  const { first_seq, last_seq } = info.state;
  for (let seq = first_seq; seq <= last_seq && info.state.messages > 0; seq++) {
    const m = await bus.jsm.streams.getMessage(bus.names.eventsStream, { seq }).catch(() => null);
    if (m && m.subject === subject) {
      const e = m.json<EventOf<EventType>>();
      if (e.jobId === jobId) out.push(e);
    }
  }
  return out;
}

describe('ingest on nats-server with the KV job store and filesystem blobs', () => {
  it('makes one job and one recording.received in the stream when Twilio sends the same RecordingSid twice', async () => {
    const params = twilioCallback();
    const first = await app.inject(twilioRequest({ params }));
    const second = await app.inject(twilioRequest({ params }));
    expect(first.statusCode).toBe(200);
    expect(second.json().jobId).toBe(first.json().jobId);
    const jobId = first.json().jobId as string;
    expect(await jobs.get(jobId)).toMatchObject({ id: jobId, kind: 'call', status: 'queued' });
    expect(await jobs.findByDedupeKey(`twilio:${params.RecordingSid}`)).toMatchObject({ id: jobId });
    // The second call re-published (the job was still queued) and JetStream dropped the duplicate.
    const events = await storedEvents('recording.received', jobId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: `recording.received:${jobId}`,
      data: { source: 'twilio', recording: { url: params.RecordingUrl } },
    });
  });

  it('puts nothing on the bus for a wrong signature', async () => {
    const params = twilioCallback();
    const res = await app.inject(twilioRequest({ params, token: 'wrong-token' }));
    expect(res.statusCode).toBe(403);
    expect(await jobs.get(`call_${params.RecordingSid}`)).toBeUndefined();
    expect(await storedEvents('recording.received', `call_${params.RecordingSid}`)).toHaveLength(0);
  });

  it('streams an upload to disk byte for byte and publishes its key', async () => {
    const wav = makeStereoWav({ seconds: 1 });
    const body = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: wav },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json();
    const key = `jobs/${jobId}/input/recording.wav`;
    expect((await readFile(blobs.localPath(key))).equals(wav)).toBe(true);
    const [event] = await storedEvents('recording.received', jobId);
    expect(event?.data).toMatchObject({ source: 'upload', recording: { key } });
    expect((await jobs.get(jobId))?.status).toBe('queued');
  });

  it('delivers an event published for the job over server-sent events', async () => {
    await jobs.create(newJob({ id: 'job_sse_real', kind: 'call' }));
    const { port } = app.server.address() as { port: number };
    const sse = await openSse({ url: `http://127.0.0.1:${port}/v1/jobs/job_sse_real/events`, headers: auth });
    expect((await sse.next()).data).toMatchObject({ id: 'job_sse_real' });
    await bus.publish('job.progress', 'job_sse_real', { step: 'encode', status: 'running', percent: 55 });
    const msg = await sse.next();
    expect(msg).toMatchObject({
      event: 'job.progress',
      data: { jobId: 'job_sse_real', data: { step: 'encode', percent: 55 } },
    });
    await bus.publish('job.failed', 'job_sse_real', {
      step: 'encode',
      reason: 'ffmpeg exited with code 1',
      permanent: true,
    });
    expect((await sse.next()).event).toBe('job.failed');
    await sse.ended;
  });

  it('serves a byte range of a video in the filesystem store', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    const key = 'jobs/job_video_real/final.mp4';
    await blobs.put(key, bytes, { contentType: 'video/mp4' });
    await jobs.create(
      newJob({
        id: 'job_video_real',
        kind: 'call',
        status: 'completed',
        outputs: { video: { key, durationSec: 1, sizeBytes: bytes.length } },
      }),
    );
    const link = await app.inject({ method: 'POST', url: '/v1/jobs/job_video_real/links', headers: auth });
    const url = new URL(link.json().url);
    const res = await app.inject({
      method: 'GET',
      url: url.pathname + url.search,
      headers: { range: 'bytes=1000-2047' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 1000-2047/4096');
    expect(res.rawPayload.equals(bytes.subarray(1000, 2048))).toBe(true);
    const whole = await app.inject({
      method: 'GET',
      url: '/v1/jobs/job_video_real/video.mp4',
      headers: auth,
    });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-length']).toBe('4096');
    expect(whole.rawPayload.equals(bytes)).toBe(true);
  });
});

describe('API limits counted in NATS KV, shared by ingest replicas', () => {
  it('compare-and-sets: a write at a stale revision loses', async () => {
    const map = await KvCasMap.open({
      nc: bus.nc,
      bucket: `${bus.names.namespace}_cas_test`,
      description: 'test',
    });
    expect(await map.get('a')).toBeUndefined();
    expect(await map.put('a', '1', 0)).toBe(true);
    expect(await map.put('a', 'again', 0)).toBe(false);
    const cur = (await map.get('a'))!;
    expect(cur.value).toBe('1');
    expect(await map.put('a', '2', cur.revision)).toBe(true);
    expect(await map.put('a', '3', cur.revision)).toBe(false);
    expect((await map.get('a'))?.value).toBe('2');
  });

  it('holds the requests per minute and the unfinished jobs of a key across two ingest replicas', async () => {
    const stores = await openLimitStores({ nc: bus.nc, namespace: bus.names.namespace, replicas: 1 });
    expect(await bus.jsm.streams.info(`KV_${usageBuckets(bus.names.namespace).activeJobs}`)).toBeDefined();
    const replica = () =>
      buildApp({
        config: testConfig({ limits: { requestsPerMinute: 4, scope: 'cluster', maxActiveJobs: 1 } }),
        bus,
        jobs,
        blobs,
        logger: silentLogger(),
        limitStores: stores,
      });
    const [a, b] = [replica(), replica()];
    try {
      const upload = async (app: typeof a) => {
        const body = await multipartBody([
          { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
        ]);
        return app.inject({
          method: 'POST',
          url: '/v1/recordings',
          headers: { ...auth, ...body.headers },
          payload: body.payload,
        });
      };
      const first = await upload(a);
      expect(first.statusCode).toBe(202);
      const second = await upload(b);
      expect(second.statusCode).toBe(429);
      expect(second.json().error.code).toBe('too_many_active_jobs');

      // Two requests used, two left this minute, whichever replica answers.
      const codes = [];
      for (const app of [a, b, a]) {
        codes.push((await app.inject({ method: 'GET', url: '/v1/jobs?limit=1', headers: auth })).statusCode);
      }
      expect(codes).toEqual([200, 200, 429]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('the job document through the KV job store', () => {
  it('comes back whole from GET /v1/jobs/:id', async () => {
    const job = fullJob('job_whole_kv');
    await jobs.create(job);
    const res = await app.inject({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const { links: _links, ...served } = res.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(job)));
  });
});

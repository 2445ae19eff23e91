import { newJob } from '@reelbus/contracts';
import { silentLogger } from '@reelbus/kit';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from './app.ts';
import { signLink } from './links.ts';
import { TWILIO_RECORDING_PATH as TWILIO_PATH } from './routes/twilio.ts';
import type { IngestConfig } from './config.ts';
import { MemoryBlobStore, MemoryBus, MemoryJobStore } from './testing/fakes.ts';
import {
  API_KEY,
  PUBLIC_BASE_URL,
  TWILIO_TOKEN,
  auth,
  makeStereoWav,
  multipartBody,
  openSse,
  testConfig,
  twilioCallback,
  twilioRequest,
} from './testing/helpers.ts';

let bus: MemoryBus;
let jobs: MemoryJobStore;
let blobs: MemoryBlobStore;
let app: FastifyInstance;

function start(over: Partial<IngestConfig> = {}, blobStore = new MemoryBlobStore()) {
  bus = new MemoryBus();
  jobs = new MemoryJobStore();
  blobs = blobStore;
  app = buildApp({ config: testConfig(over), bus, jobs, blobs, logger: silentLogger(), sseHeartbeatMs: 50 });
  return app;
}

/** A completed job with a video of `bytes` in the blob store. */
async function jobWithVideo(bytes: Buffer) {
  const id = 'job_with_video';
  const key = `jobs/${id}/final.mp4`;
  await blobs.put(key, bytes, { contentType: 'video/mp4' });
  await jobs.create(
    newJob({
      id,
      kind: 'call',
      status: 'completed',
      outputs: { video: { key, durationSec: 1, sizeBytes: bytes.length } },
    }),
  );
  return { id, key };
}

beforeEach(() => start());
afterEach(async () => {
  vi.useRealTimers();
  await app.close();
});

describe('POST /v1/webhooks/twilio/recording', () => {
  it('makes a job and publishes recording.received for a validly signed completed recording', async () => {
    const params = twilioCallback();
    const res = await app.inject(twilioRequest({ params }));
    expect(res.statusCode).toBe(200);
    const jobId = `call_${params.RecordingSid}`;
    expect(res.json()).toMatchObject({ jobId });
    const job = await jobs.get(jobId);
    expect(job).toMatchObject({ kind: 'call', status: 'queued', dedupeKey: `twilio:${params.RecordingSid}` });
    const events = bus.ofType('recording.received');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: `recording.received:${jobId}`,
      jobId,
      data: {
        source: 'twilio',
        recording: { url: params.RecordingUrl },
        twilio: {
          accountSid: params.AccountSid,
          callSid: params.CallSid,
          recordingSid: params.RecordingSid,
          durationSec: 42,
          channels: 2,
        },
      },
    });
  });

  it('refuses a wrong signature, a missing one, and one made for another URL, publishing nothing', async () => {
    const params = twilioCallback();
    for (const req of [
      twilioRequest({ params, token: 'not-the-token' }),
      twilioRequest({ params, signature: null }),
      twilioRequest({ params, signature: 'bm90IGEgc2lnbmF0dXJl' }),
      // Signed for the Host header the proxy passes on instead of PUBLIC_BASE_URL.
      twilioRequest({
        params,
        signature: twilio.getExpectedTwilioSignature(
          TWILIO_TOKEN,
          'http://ingest.internal:8080/v1/webhooks/twilio/recording',
          params,
        ),
      }),
    ]) {
      const res = await app.inject(req);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('bad_signature');
    }
    // A body changed after signing.
    const signed = twilioRequest({ params });
    const tampered = {
      ...signed,
      payload: new URLSearchParams({ ...params, RecordingUrl: 'https://evil.example/x' }).toString(),
    };
    expect((await app.inject(tampered)).statusCode).toBe(403);
    expect(bus.events).toHaveLength(0);
    expect(await jobs.list()).toHaveLength(0);
  });

  it('makes one job when Twilio retries the same RecordingSid', async () => {
    const params = twilioCallback();
    const first = await app.inject(twilioRequest({ params }));
    const second = await app.inject(twilioRequest({ params }));
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.json().jobId).toBe(first.json().jobId);
    expect(await jobs.list()).toHaveLength(1);
    expect(bus.ofType('recording.received')).toHaveLength(1);
  });

  it('does not publish again for a retry once the job is past queued', async () => {
    const params = twilioCallback();
    const first = await app.inject(twilioRequest({ params }));
    await jobs.update(first.json().jobId, (j) => ({ ...j, status: 'running' }));
    const publish = vi.spyOn(bus, 'publish');
    await app.inject(twilioRequest({ params }));
    expect(publish).not.toHaveBeenCalled();
  });

  it('re-publishes with the same event id when the job is still queued (a crash between create and publish)', async () => {
    const params = twilioCallback();
    const first = await app.inject(twilioRequest({ params }));
    const publish = vi.spyOn(bus, 'publish');
    await app.inject(twilioRequest({ params }));
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish.mock.calls[0]?.[3]).toEqual({ id: `recording.received:${first.json().jobId}` });
  });

  it('answers 503 when the bus refuses the event, and publishes on the retry Twilio then sends', async () => {
    const params = twilioCallback();
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const failed = await app.inject(twilioRequest({ params }));
    expect(failed.statusCode).toBe(503);
    expect(bus.events).toHaveLength(0);
    const retry = await app.inject(twilioRequest({ params }));
    expect(retry.statusCode).toBe(200);
    expect(bus.ofType('recording.received').map((e) => e.jobId)).toEqual([`call_${params.RecordingSid}`]);
  });

  it('answers 200 and makes no job for a recording that is not completed', async () => {
    const params = twilioCallback({ RecordingStatus: 'in-progress' });
    const res = await app.inject(twilioRequest({ params }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ignored: true });
    expect(await jobs.list()).toHaveLength(0);
    expect(bus.events).toHaveLength(0);
  });

  it('validates the signature against PUBLIC_BASE_URL including the query string, and takes callbackUrl from it', async () => {
    const params = twilioCallback();
    const path =
      '/v1/webhooks/twilio/recording?callbackUrl=' + encodeURIComponent('https://hooks.example.com/done');
    const res = await app.inject(twilioRequest({ params, path }));
    expect(res.statusCode).toBe(200);
    expect((await jobs.get(res.json().jobId))?.callbackUrl).toBe('https://hooks.example.com/done');
    expect(bus.ofType('recording.received')[0]?.data.callbackUrl).toBe('https://hooks.example.com/done');
  });

  it('names the field when a signed callback carries a malformed RecordingSid', async () => {
    const res = await app.inject(twilioRequest({ params: twilioCallback({ RecordingSid: 'RE-nope' }) }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_input', field: 'RecordingSid' });
  });

  it('answers 503 when TWILIO_AUTH_TOKEN is not set', async () => {
    await app.close();
    start({ twilioAuthToken: undefined });
    const res = await app.inject(twilioRequest({ params: twilioCallback() }));
    expect(res.statusCode).toBe(503);
    expect(res.json().error.message).toContain('Twilio webhook not configured');
  });
});

describe('POST /v1/recordings', () => {
  it('stores an uploaded wav, makes a job and publishes recording.received with its key', async () => {
    const wav = makeStereoWav();
    const body = await multipartBody([
      { name: 'callbackUrl', value: 'https://hooks.example.com/reelbus' },
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: wav },
      { name: 'provider', value: 'local' },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(202);
    const { jobId, statusUrl, eventsUrl } = res.json();
    expect(jobId).toMatch(/^job_[0-9a-z]+$/);
    expect(statusUrl).toBe(`${PUBLIC_BASE_URL}/v1/jobs/${jobId}`);
    expect(eventsUrl).toBe(`${PUBLIC_BASE_URL}/v1/jobs/${jobId}/events`);
    const [event] = bus.ofType('recording.received');
    const key = `jobs/${jobId}/input/recording.wav`;
    expect(event).toMatchObject({
      id: `recording.received:${jobId}`,
      jobId,
      data: {
        source: 'upload',
        recording: { key },
        provider: 'local',
        callbackUrl: 'https://hooks.example.com/reelbus',
      },
    });
    expect(blobs.blobs.get(key)?.bytes.equals(wav)).toBe(true);
    expect(await jobs.get(jobId)).toMatchObject({
      kind: 'call',
      status: 'queued',
      callbackUrl: 'https://hooks.example.com/reelbus',
    });
  });

  it('stores optional face images beside the recording', async () => {
    const body = await multipartBody([
      {
        name: 'recording',
        filename: 'call.mp3',
        type: 'application/octet-stream',
        bytes: Buffer.from('ID3fake'),
      },
      {
        name: 'callerImage',
        filename: 'me.JPEG',
        type: 'image/jpeg',
        bytes: Buffer.from([0xff, 0xd8, 0xff]),
      },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json();
    expect(bus.ofType('recording.received')[0]?.data).toMatchObject({
      recording: { key: `jobs/${jobId}/input/recording.mp3`, contentType: 'audio/mpeg' },
      callerImage: `jobs/${jobId}/input/caller-image.jpg`,
    });
  });

  it('answers 413 for an upload over UPLOAD_MAX_BYTES, and keeps nothing', async () => {
    const body = await multipartBody([
      { name: 'recording', filename: 'long.wav', type: 'audio/wav', bytes: makeStereoWav({ seconds: 10 }) },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'too_large', field: 'recording' });
    expect(res.json().error.message).toContain('UPLOAD_MAX_BYTES');
    expect(blobs.blobs.size).toBe(0);
    expect(bus.events).toHaveLength(0);
    expect(await jobs.list()).toHaveLength(0);
  });

  it('answers 415 naming the file when it is not audio', async () => {
    const body = await multipartBody([
      { name: 'recording', filename: 'notes.txt', type: 'text/plain', bytes: Buffer.from('hello') },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toContain('notes.txt');
    expect(bus.events).toHaveLength(0);
  });

  it('answers 400 naming callbackUrl when it is not http(s) or points at a private host', async () => {
    for (const callbackUrl of [
      'ftp://example.com/x',
      'not a url',
      'http://127.0.0.1:9000/hook',
      'http://10.1.2.3/',
      'http://[::1]/x',
      'http://localhost/x',
    ]) {
      const body = await multipartBody([
        { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
        { name: 'callbackUrl', value: callbackUrl },
      ]);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/recordings',
        headers: { ...auth, ...body.headers },
        payload: body.payload,
      });
      expect(res.statusCode, callbackUrl).toBe(400);
      expect(res.json().error.field).toBe('callbackUrl');
    }
    expect(blobs.blobs.size).toBe(0);
    expect(bus.events).toHaveLength(0);
  });

  it('answers 503 and keeps neither job nor file when the bus refuses the event', async () => {
    vi.spyOn(bus, 'publish').mockRejectedValueOnce(new Error('no responders'));
    const body = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(503);
    expect(await jobs.list()).toHaveLength(0);
    expect(blobs.blobs.size).toBe(0);
  });

  it('accepts a private callback host when ALLOW_PRIVATE_CALLBACKS is on', async () => {
    await app.close();
    start({ allowPrivateCallbacks: true });
    const body = await multipartBody([
      { name: 'recording', filename: 'call.wav', type: 'audio/wav', bytes: makeStereoWav() },
      { name: 'callbackUrl', value: 'http://127.0.0.1:9000/hook' },
    ]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(202);
  });

  it('answers 400 when the recording field is missing and 415 when the body is not multipart', async () => {
    const body = await multipartBody([{ name: 'provider', value: 'local' }]);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: { ...auth, ...body.headers },
      payload: body.payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('recording');
    const json = await app.inject({
      method: 'POST',
      url: '/v1/recordings',
      headers: auth,
      payload: { recording: 'x' },
    });
    expect(json.statusCode).toBe(415);
  });
});

describe('access', () => {
  it('answers 401 without a key or with a wrong key on every /v1 route but the webhooks, the signed HLS paths and the API description', async () => {
    await app.ready();
    const v1 = app.routeTable.filter((r) => r.url.startsWith('/v1/'));
    // Public: the webhooks (each checks its own signature), the signed HLS paths (the signature is in
    // the path and checked by routes/hls.ts, because players send no key and drop query strings on the
    // playlists' relative URLs) and the API description; nothing else.
    const webhooks = [TWILIO_PATH, '/v1/webhooks/replicate', '/v1/webhooks/fal'];
    const signedHls = '/v1/hls/:id/:expires/:signature/*';
    const open = v1.filter((r) => r.access === 'public').map((r) => r.url);
    expect(
      open.filter(
        (u) =>
          !webhooks.includes(u) && u !== signedHls && u !== '/v1/openapi.json' && !u.startsWith('/v1/docs'),
      ),
    ).toEqual([]);
    const routes = v1.filter((r) => r.access !== 'public');
    // Every route group is covered, so a route added later is covered too.
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual(
      [
        'GET /v1/events',
        'GET /v1/jobs',
        'GET /v1/jobs/:id',
        'GET /v1/jobs/:id/events',
        'GET /v1/jobs/:id/poster.jpg',
        'GET /v1/jobs/:id/audio',
        'GET /v1/jobs/:id/video',
        'GET /v1/jobs/:id/video.mp4',
        'GET /v1/keys',
        'GET /v1/me',
        'GET /v1/kinds',
        'GET /v1/models',
        'GET /v1/models/*',
        'POST /v1/generations',
        'POST /v1/jobs/:id/links',
        'POST /v1/recordings',
        'POST /v1/renders',
        'POST /v1/stories',
        'POST /v1/merges',
        'GET /v1/projects',
        'POST /v1/projects',
        'GET /v1/projects/:id',
        'DELETE /v1/projects/:id',
        'PATCH /v1/projects/:id',
        'PATCH /v1/projects/:id/scenes/:sceneId',
        'POST /v1/projects/:id/scenes',
        'DELETE /v1/projects/:id/scenes/:sceneId',
        'PUT /v1/projects/:id/scene-order',
        'POST /v1/projects/:id/voiceover',
        'PATCH /v1/projects/:id/music',
        'POST /v1/projects/:id/music/regenerate',
        'POST /v1/projects/:id/undo',
        'POST /v1/projects/:id/redo',
        'POST /v1/projects/:id/preview',
        'POST /v1/projects/:id/render',
        'GET /v1/jobs/:id/hls/*',
        'POST /v1/jobs/:id/hls/links',
        'GET /v1/dead-letters',
        'POST /v1/dead-letters/:seq/replay',
        'POST /v1/jobs/:id/retry',
        'POST /v1/reels',
        'GET /v1/reels',
        'GET /v1/reels/:id',
        'PATCH /v1/reels/:id',
        'GET /v1/reels/:id/events',
        'POST /v1/reels/:id/compile',
        'POST /v1/reels/:id/sections/:sid/regenerate',
        'POST /v1/reels/:id/sections/:sid/takes/:tid/approve',
        'POST /v1/reels/:id/sections/:sid/takes/:tid/reject',
        'POST /v1/jobs/:id/cancel',
        'DELETE /v1/jobs/:id',
      ].sort(),
    );
    const { id } = await jobWithVideo(Buffer.from('mp4'));
    for (const r of routes) {
      const url = r.url.replace(':id', id).replace(':sid', 's1').replace(':tid', 't1');
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-key' },
        { authorization: `Basic ${API_KEY}` },
      ]) {
        const res = await app.inject({ method: r.method as 'GET' | 'POST' | 'PATCH', url, headers });
        expect(res.statusCode, `${r.method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(res.json().error.code).toBe('unauthorized');
      }
    }
    expect(bus.events).toHaveLength(0);
  });

  it('lets a signed video link play without a key until it expires, and not after, nor on another path', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const video = Buffer.from('not really an mp4 but bytes all the same');
    const { id } = await jobWithVideo(video);
    const made = await app.inject({
      method: 'POST',
      url: `/v1/jobs/${id}/links`,
      headers: auth,
      payload: { ttlSec: 600 },
    });
    expect(made.statusCode).toBe(200);
    const { url, expiresAt } = made.json();
    expect(url.startsWith(`${PUBLIC_BASE_URL}/v1/jobs/${id}/video.mp4?`)).toBe(true);
    const pathAndQuery = url.slice(PUBLIC_BASE_URL.length);

    const ok = await app.inject({ method: 'GET', url: pathAndQuery });
    expect(ok.statusCode).toBe(200);
    expect(ok.rawPayload.equals(video)).toBe(true);
    expect(ok.headers['content-type']).toBe('video/mp4');

    // Another job's path, or the other video path, with the same signature.
    expect((await app.inject({ method: 'GET', url: pathAndQuery.replace(id, 'job_other') })).statusCode).toBe(
      403,
    );
    expect(
      (await app.inject({ method: 'GET', url: pathAndQuery.replace('video.mp4', 'video') })).statusCode,
    ).toBe(403);
    // A tampered expiry.
    const later = pathAndQuery.replace(
      /expires=(\d+)/,
      (_m: string, e: string) => `expires=${Number(e) + 3600}`,
    );
    expect((await app.inject({ method: 'GET', url: later })).statusCode).toBe(403);

    vi.setSystemTime(new Date(expiresAt).getTime() + 1000);
    const expired = await app.inject({ method: 'GET', url: pathAndQuery });
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.code).toBe('link_expired');
  });

  it('puts a signed, expiring video link on a job that has a video', async () => {
    const { id } = await jobWithVideo(Buffer.from('v'));
    const res = await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const link = new URL(res.json().links.video);
    expect(link.pathname).toBe(`/v1/jobs/${id}/video.mp4`);
    const play = await app.inject({ method: 'GET', url: link.pathname + link.search });
    expect(play.statusCode).toBe(200);
  });

  it('refuses a link signed with another secret', async () => {
    const { id } = await jobWithVideo(Buffer.from('v'));
    const path = `/v1/jobs/${id}/video.mp4`;
    const forged = signLink({ baseUrl: '', path, secret: 'some-other-secret-xyz', ttlSec: 600 });
    expect((await app.inject({ method: 'GET', url: forged.url })).statusCode).toBe(403);
  });
});

describe('GET /v1/jobs', () => {
  it('returns 404 with an error body for a job that does not exist', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_missing', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('lists jobs filtered by status and names a bad status', async () => {
    await jobs.create(newJob({ id: 'job_a', kind: 'call', status: 'completed' }));
    await jobs.create(newJob({ id: 'job_b', kind: 'call' }));
    const res = await app.inject({ method: 'GET', url: '/v1/jobs?status=completed&limit=10', headers: auth });
    expect(res.json().jobs.map((j: { id: string }) => j.id)).toEqual(['job_a']);
    const bad = await app.inject({ method: 'GET', url: '/v1/jobs?status=done', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('status');
  });
});

describe('GET /v1/jobs/:id/video', () => {
  const video = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  it('returns the requested bytes with 206 for a Range request', async () => {
    const { id } = await jobWithVideo(video);
    const res = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/video.mp4`,
      headers: { ...auth, range: 'bytes=100-199' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 100-199/1000');
    expect(res.headers['content-length']).toBe('100');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.rawPayload.equals(video.subarray(100, 200))).toBe(true);

    const suffix = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/video`,
      headers: { ...auth, range: 'bytes=-10' },
    });
    expect(suffix.headers['content-range']).toBe('bytes 990-999/1000');
    expect(suffix.rawPayload.equals(video.subarray(990))).toBe(true);

    const open = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/video`,
      headers: { ...auth, range: 'bytes=900-' },
    });
    expect(open.rawPayload.equals(video.subarray(900))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const { id } = await jobWithVideo(video);
    const res = await app.inject({
      method: 'GET',
      url: `/v1/jobs/${id}/video`,
      headers: { ...auth, range: 'bytes=5000-6000' },
    });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */1000');
  });

  it('redirects to a presigned URL when the store is S3', async () => {
    await app.close();
    start({}, new MemoryBlobStore({ presignBase: 'https://bucket.s3.example.com' }));
    const { id, key } = await jobWithVideo(video);
    const res = await app.inject({ method: 'GET', url: `/v1/jobs/${id}/video.mp4`, headers: auth });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`https://bucket.s3.example.com/${key}?X-Amz-Signature=fake`);
  });

  it('answers 404 while the job has no video', async () => {
    await jobs.create(newJob({ id: 'job_running', kind: 'call', status: 'running' }));
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_running/video', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('no video yet');
  });
});

describe('GET /v1/jobs/:id/events', () => {
  it('streams the job, then its events, with heartbeats, and ends on job.completed', async () => {
    await jobs.create(newJob({ id: 'job_live', kind: 'call' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const sse = await openSse({ url: `http://127.0.0.1:${port}/v1/jobs/job_live/events`, headers: auth });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toContain('text/event-stream');
    const first = await sse.next();
    expect(first.event).toBe('job');
    expect(first.data).toMatchObject({ id: 'job_live', status: 'queued' });

    await bus.publish('job.progress', 'job_live', { step: 'split', status: 'running', percent: 40 });
    await bus.publish('job.progress', 'job_other', { step: 'split', status: 'running', percent: 99 });
    // A heartbeat comment comes while nothing happens (every 50 ms here, 15 s by default).
    await vi.waitFor(() => expect(sse.comments).toContain('heartbeat'), { timeout: 5000 });
    const progress = await sse.next();
    expect(progress.event).toBe('job.progress');
    expect(progress.data).toMatchObject({ jobId: 'job_live', data: { step: 'split', percent: 40 } });

    await bus.publish('job.completed', 'job_live', { outputs: {} });
    expect((await sse.next()).event).toBe('job.completed');
    await sse.ended;
    expect(bus.watcherCount).toBe(0);
  });

  it('stops watching when the client goes away', async () => {
    await jobs.create(newJob({ id: 'job_gone', kind: 'call' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const sse = await openSse({ url: `http://127.0.0.1:${port}/v1/jobs/job_gone/events`, headers: auth });
    await sse.next();
    expect(bus.watcherCount).toBe(1);
    sse.close();
    await vi.waitFor(() => expect(bus.watcherCount).toBe(0), { timeout: 5000 });
  });

  it('ends open streams when the app closes, so shutdown does not wait on them', async () => {
    await jobs.create(newJob({ id: 'job_open', kind: 'call' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const sse = await openSse({ url: `http://127.0.0.1:${port}/v1/jobs/job_open/events`, headers: auth });
    await sse.next();
    await app.close();
    await sse.ended;
    expect(bus.watcherCount).toBe(0);
  });

  it('answers 404 for the events of a job that does not exist, and stops its watch', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/jobs/job_nope/events', headers: auth });
    expect(res.statusCode).toBe(404);
    expect(bus.watcherCount).toBe(0);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type EventOf } from '@reelbus/contracts';
import {
  FsBlobStore,
  isJobCancelled,
  isPermanent,
  JobCancelledError,
  METRIC,
  metrics,
  probe,
  S3BlobStore,
} from '@reelbus/kit';
import { collectSpans, freePort, makeImage, makeSpeech, makeTone, makeVideo } from '@reelbus/kit/testing';
import { renderTimelineEvent } from '../handle-timeline.ts';
import { packageHlsOfBlob } from '../hls/package.ts';
import { fakeHandlerContext, storyTimelineInput } from '../testing.ts';
import { MediaConvertBackend } from './backend.ts';
import { startFakeMediaConvert, type FakeMediaConvert } from './fake-server.ts';

const BUCKET = 'reelbus-mc-test';
const ROLE = 'arn:aws:iam::123456789012:role/MediaConvertRole';
// s3rver ships no types (the kit declares them for its own tests only): the part used here.
interface S3rverLike {
  run(): Promise<unknown>;
  close(): Promise<void>;
}
const { default: S3rver } = (await import('s3rver' as string)) as {
  default: new (opts: Record<string, unknown>) => S3rverLike;
};
let s3: S3rverLike;
let dir: string;
let blobs: S3BlobStore;
let fake: FakeMediaConvert;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-mediaconvert-'));
  const port = await freePort();
  s3 = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: BUCKET }],
  });
  await s3.run();
  blobs = new S3BlobStore({
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  fake = await startFakeMediaConvert();
  // The story's inputs, in the bucket.
  const src = join(dir, 'src');
  await blobs.putFile(
    'jobs/s1/audio/voice.wav',
    await makeSpeech({ file: join(src, 'voice.wav'), text: 'Once upon a time.' }),
  );
  await blobs.putFile('music/calm-60s.wav', await makeTone({ file: join(src, 'music.wav'), seconds: 6 }));
  await blobs.putFile(
    'jobs/s1/images/0.jpg',
    await makeImage({ file: join(src, '0.jpg'), width: 400, height: 300 }),
  );
  await blobs.putFile(
    'jobs/s1/images/1.jpg',
    await makeImage({ file: join(src, '1.jpg'), width: 300, height: 400 }),
  );
  await blobs.putFile(
    'brand/logo.png',
    await makeImage({ file: join(src, 'logo.png'), width: 128, height: 128, color: 'orange' }),
  );
}, 60_000);
afterAll(async () => {
  await fake?.close();
  await blobs?.close?.();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const backend = () =>
  new MediaConvertBackend({
    blobs,
    tmpDir: join(dir, 'tmp'),
    region: 'us-east-1',
    endpoint: fake.endpoint,
    roleArn: ROLE,
    queue: 'arn:aws:mediaconvert:us-east-1:123456789012:queues/Default',
    credentials: { accessKeyId: 'AKIDFAKE', secretAccessKey: 'fake-secret' },
    pollInitialMs: 100,
    pollMaxMs: 200,
  });

function storyEvent(
  jobId: string,
  over: Partial<Parameters<typeof storyTimelineInput>[0]> = {},
): EventOf<'timeline.ready'> {
  const timeline = Timeline.parse(
    storyTimelineInput({
      voiceKey: 'jobs/s1/audio/voice.wav',
      musicKey: 'music/calm-60s.wav',
      imageKeys: ['jobs/s1/images/0.jpg', 'jobs/s1/images/1.jpg'],
      logoKey: 'brand/logo.png',
      ...over,
    }),
  );
  return {
    id: `timeline.ready:${jobId}`,
    type: 'timeline.ready',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: { kind: 'story', timeline, backend: 'mediaconvert' },
  };
}

/** The fake "renders": an MP4 written into the bucket where Destination + NameModifier point. */
async function produce(body: Record<string, unknown>): Promise<void> {
  const group = (
    body.settings as {
      outputGroups: {
        outputGroupSettings: { fileGroupSettings: { destination: string } };
        outputs: { nameModifier: string }[];
      }[];
    }
  ).outputGroups[0]!;
  const url = `${group.outputGroupSettings.fileGroupSettings.destination}${group.outputs[0]!.nameModifier}.mp4`;
  const key = url.replace(`s3://${BUCKET}/`, '');
  const file = await makeVideo({
    file: join(dir, 'produced', `${Date.now()}.mp4`),
    seconds: 2,
    width: 320,
    height: 180,
  });
  await blobs.putFile(key, file, { contentType: 'video/mp4' });
}

describe('MediaConvertBackend with the real SDK against a local MediaConvert API', () => {
  it('submits the proven story job, follows it to COMPLETE and publishes video.encoded with the cost estimate', async () => {
    const completesBefore = metrics.value(METRIC.mediaConvertJobs, { status: 'complete' });
    fake.requests.length = 0;
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: storyEvent('mc1'),
      ctx,
      deps: { backends: new Map([['mediaconvert', backend()]]), defaultBackend: 'ffmpeg' },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(metrics.value(METRIC.mediaConvertJobs, { status: 'complete' }) - completesBefore).toBe(1);

    // What the SDK really sent (REST JSON, lowerCamelCase).
    const create = fake.requests.find((r) => r.method === 'POST' && r.path === '/2017-08-29/jobs')!;
    const body = create.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body.role).toBe(ROLE);
    expect(body.queue).toContain('queues/Default');
    const input = body.settings.inputs[0];
    expect(input.timecodeSource).toBe('ZEROBASED');
    expect(input.videoGenerator).toMatchObject({
      duration: 11000,
      width: 1920,
      height: 1080,
      framerateNumerator: 30,
    });
    expect(input.videoGenerator.imageInput).toBe(`s3://${BUCKET}/jobs/mc1/encode/mediaconvert/base.png`);
    expect(input.audioSelectors['Audio Selector 1'].externalAudioFileInput).toBe(
      `s3://${BUCKET}/jobs/s1/audio/voice.wav`,
    );
    expect(input.audioSelectors['Audio Selector 2'].externalAudioFileInput).toBe(
      `s3://${BUCKET}/music/calm-60s.wav`,
    );
    expect(input.audioSelectorGroups['Audio Selector Group 1'].audioSelectorNames).toEqual([
      'Audio Selector 1',
      'Audio Selector 2',
    ]);
    const out = body.settings.outputGroups[0].outputs[0];
    expect(out.nameModifier).toBe('l');
    expect(body.settings.outputGroups[0].outputGroupSettings.fileGroupSettings.destination).toBe(
      `s3://${BUCKET}/jobs/mc1/fina`,
    );
    expect(out.containerSettings.mp4Settings.moovPlacement).toBe('PROGRESSIVE_DOWNLOAD');
    expect(out.videoDescription.codecSettings.h264Settings).toMatchObject({
      rateControlMode: 'CBR',
      codecProfile: 'HIGH',
    });
    expect(out.audioDescriptions[0].remixSettings).toEqual({
      channelMapping: {
        outputChannels: [{ inputChannelsFineTune: [0, -25] }, { inputChannelsFineTune: [0, -25] }],
      },
      channelsIn: 2,
      channelsOut: 2,
    });
    const images = out.videoDescription.videoPreprocessors.imageInserter.insertableImages as Record<
      string,
      unknown
    >[];
    expect(images).toHaveLength(5);
    expect(images[4]).toMatchObject({ startTime: '00:00:09:00', layer: 5, opacity: 100 });
    expect(body.settings.timecodeConfig).toEqual({ source: 'ZEROBASED' });

    // The fitted PNGs exist where the job points, at their rect size.
    for (const img of images) {
      const key = String(img.imageInserterInput).replace(`s3://${BUCKET}/`, '');
      const local = join(dir, 'check', key.replaceAll('/', '_'));
      await blobs.download(key, local);
      const info = await probe(local);
      expect([info.video?.width, info.video?.height]).toEqual([img.width, img.height]);
    }

    // Followed with GetJob until COMPLETE; progress from jobPercentComplete.
    expect(fake.requests.filter((r) => r.method === 'GET').length).toBe(2);
    expect(ctx.progress.calls).toContainEqual(['encode', 'running', 50, undefined, { phase: 'rendering' }]);
    const encoded = ctx.published.find((p) => p.type === 'video.encoded')!;
    expect(encoded.id).toBe('video.encoded:mc1');
    expect(encoded.data).toMatchObject({
      key: 'jobs/mc1/final.mp4',
      backend: 'mediaconvert',
      width: 320,
      height: 180,
      videoCodec: 'h264',
      audioCodec: 'aac',
    });
    const d = encoded.data as { durationSec: number; costUsd: number };
    // reference formula: ceil(2 s / 60) = 1 HD minute × 0.015 + 6 pictures (base + 5 layers) × 0.001
    expect(d.costUsd).toBeCloseTo(0.015 + 6 * 0.001, 6);
    expect(d.durationSec).toBeGreaterThan(1.5);
  }, 60_000);

  it('accepts output.formats ["mp4","hls"]: MediaConvert writes the MP4, the encoder packages the HLS ladder from it in S3', async () => {
    fake.requests.length = 0;
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const event = storyEvent('mc-hls');
    const timeline = Timeline.parse({
      ...event.data.timeline,
      output: { ...event.data.timeline.output, formats: ['mp4', 'hls'] },
    });
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: { ...event, data: { ...event.data, timeline } },
      ctx,
      deps: {
        backends: new Map([['mediaconvert', backend()]]),
        defaultBackend: 'ffmpeg',
        hls: (req) => packageHlsOfBlob({ ...req, blobs, tmpDir: join(dir, 'tmp') }),
      },
    });
    expect(outcome).toEqual({ outcome: 'ok' });
    // no "not supported … dropped" warning, and MediaConvert was asked for the MP4 only
    expect(ctx.warnings).toEqual([]);
    const create = fake.requests.find((r) => r.method === 'POST' && r.path === '/2017-08-29/jobs')!;
    const groups = (create.body as { settings: { outputGroups: { outputs: unknown[] }[] } }).settings
      .outputGroups;
    expect(groups).toHaveLength(1);
    expect(groups[0]!.outputs).toHaveLength(1);
    const encoded = ctx.published.find((p) => p.type === 'video.encoded')!;
    expect(encoded.data).toMatchObject({
      key: 'jobs/mc-hls/final.mp4',
      backend: 'mediaconvert',
      outputs: {
        hls: {
          key: 'jobs/mc-hls/hls/master.m3u8',
          contentType: 'application/vnd.apple.mpegurl',
          width: 320,
          height: 180,
        },
      },
    });
    // the ladder of MediaConvert's 320×180 MP4: one rendition, uploaded to the bucket
    expect((await blobs.list('jobs/mc-hls/hls/')).map((b) => b.key).sort()).toEqual([
      'jobs/mc-hls/hls/180p/index.m3u8',
      'jobs/mc-hls/hls/180p/init.mp4',
      'jobs/mc-hls/hls/180p/seg_000.m4s',
      'jobs/mc-hls/hls/master.m3u8',
    ]);
  }, 60_000);

  it('makes a CLIENT span per MediaConvert call, and marks the failed one', async () => {
    const spans = await collectSpans('encoder');
    try {
      fake.nextOutcome = { status: 'COMPLETE', produce };
      fake.getsUnavailable = true; // CreateJob works, GetJob answers 503 until the SDK gives up
      await backend()
        .render({ jobId: 'mc9', timeline: storyEvent('mc9').data.timeline })
        .catch(() => undefined);
      fake.getsUnavailable = false;
      const calls = spans.finished().filter((s) => s.name.startsWith('MediaConvert '));
      expect(calls.map((s) => s.name)).toEqual(['MediaConvert CreateJob', 'MediaConvert GetJob']);
      expect(calls.map((s) => s.status)).toEqual([0, 2]); // unset, error
      expect(calls[1]!.attributes['aws.mediaconvert.job_id']).toBe(fake.created.at(-1));
      for (const s of calls) {
        expect(s.kind).toBe(2); // CLIENT
        expect(s.attributes).toMatchObject({
          'rpc.system': 'aws-api',
          'rpc.service': 'MediaConvert',
          'rpc.method': s.name.split(' ')[1],
          'cloud.region': 'us-east-1',
        });
      }
    } finally {
      await spans.stop();
    }
  }, 60_000);

  it('surfaces MediaConvert’s own error message and code when the job ends in ERROR, and counts it', async () => {
    const errorsBefore = metrics.value(METRIC.mediaConvertJobs, { status: 'error' });
    fake.nextOutcome = {
      status: 'ERROR',
      errorMessage: 'Unable to open input file [s3://x/voice.wav]',
      errorCode: 1010,
    };
    const err = (await backend()
      .render({ jobId: 'mc2', timeline: storyEvent('mc2').data.timeline })
      .catch((e: unknown) => e)) as Error;
    expect(isPermanent(err)).toBe(true);
    expect(err.message).toMatch(
      /MediaConvert job \S+ failed: Unable to open input file \[s3:\/\/x\/voice\.wav\] \(error code 1010\)/,
    );
    // counted for the "any MediaConvert job failure" alert
    expect(metrics.value(METRIC.mediaConvertJobs, { status: 'error' }) - errorsBefore).toBe(1);
  }, 60_000);

  it('refuses a Timeline with Ken Burns before any request or upload', async () => {
    fake.requests.length = 0;
    const ctx = fakeHandlerContext();
    const event = storyEvent('mc3', { motion: true });
    const outcome = await renderTimelineEvent({
      event: { ...event, data: { ...event.data, kind: 'call' } },
      ctx,
      deps: { backends: new Map([['mediaconvert', backend()]]), defaultBackend: 'mediaconvert' },
    });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'encode' });
    expect((outcome as { reason: string }).reason).toContain('tracks[1].clips[0].motion: Ken Burns motion');
    expect(fake.requests).toHaveLength(0);
    expect(await blobs.list('jobs/mc3/')).toEqual([]);
  });

  it('drops Ken Burns with a job warning when the Timeline allows degradation', async () => {
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const warned: string[] = [];
    const res = await backend().render({
      jobId: 'mc4',
      timeline: storyEvent('mc4', { motion: true, allowDegradation: true }).data.timeline,
      onWarning: (m) => void warned.push(m),
    });
    expect(res.key).toBe('jobs/mc4/final.mp4');
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatch(/tracks\[1\]\.clips\[0\]\.motion: Ken Burns motion .*dropped/);
  }, 60_000);

  it('follows the job an earlier delivery submitted instead of paying for a second one', async () => {
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const created = fake.created.length;
    const timeline = storyEvent('mc6').data.timeline;
    // The first delivery submits, then loses the API while following: a transient failure, redelivered.
    fake.getsUnavailable = true;
    const lost = (await backend()
      .render({ jobId: 'mc6', timeline })
      .catch((e: unknown) => e)) as Error;
    fake.getsUnavailable = false;
    expect(isPermanent(lost)).toBe(false);
    expect(lost.message).toMatch(/^MediaConvert GetJob failed/);
    expect(fake.created).toHaveLength(created + 1);

    const res = await backend().render({ jobId: 'mc6', timeline });
    expect(res.key).toBe('jobs/mc6/final.mp4');
    expect(fake.created).toHaveLength(created + 1); // adopted, not created again
    expect(res.media.video?.codec).toBe('h264');
  }, 60_000);

  it('submits anew when the recorded job was cancelled, with a new ClientRequestToken', async () => {
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const created = fake.created.length;
    const timeline = storyEvent('mc7').data.timeline;
    fake.getsUnavailable = true;
    await backend()
      .render({ jobId: 'mc7', timeline })
      .catch(() => undefined);
    fake.getsUnavailable = false;
    const first = fake.created.at(-1)!;
    // Someone cancels it in the MediaConvert console.
    await fetch(`${fake.endpoint}/2017-08-29/jobs/${first}`, { method: 'DELETE' });

    const res = await backend().render({ jobId: 'mc7', timeline });
    expect(res.key).toBe('jobs/mc7/final.mp4');
    expect(fake.created).toHaveLength(created + 2);
    const tokens = fake.requests
      .filter(
        (r) =>
          r.method === 'POST' &&
          (r.body as { userMetadata?: Record<string, string> }).userMetadata?.reelbusJobId === 'mc7',
      )
      .map((r) => (r.body as { clientRequestToken: string }).clientRequestToken);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens[1]).not.toBe(tokens[0]);
  }, 60_000);

  describe('a cancelled reelbus job cancels its MediaConvert job (CancelJob through the SDK)', () => {
    /** Renders `jobId` on a job that never ends by itself; aborts once a GetJob of it has been asked. */
    async function cancelMidway(jobId: string): Promise<{ err: unknown; id: string }> {
      fake.nextOutcome = { status: 'PROGRESSING' };
      const createdBefore = fake.created.length;
      const ctl = new AbortController();
      const rendering = backend()
        .render({ jobId, timeline: storyEvent(jobId).data.timeline, signal: ctl.signal })
        .catch((e: unknown) => e);
      const polled = () => {
        const id = fake.created[createdBefore];
        return (
          id !== undefined &&
          fake.requests.some((r) => r.method === 'GET' && r.path === `/2017-08-29/jobs/${id}`)
        );
      };
      while (!polled()) await new Promise((r) => setTimeout(r, 10));
      ctl.abort(new JobCancelledError({ jobId, by: 'tester', reason: 'wrong photos' }));
      return { err: await rendering, id: fake.created[createdBefore]! };
    }
    const cancels = (id: string) =>
      fake.requests.filter((r) => r.method === 'DELETE' && r.path === `/2017-08-29/jobs/${id}`);

    it('between polls', async () => {
      const canceledBefore = metrics.value(METRIC.mediaConvertJobs, { status: 'canceled' });
      const { err, id } = await cancelMidway('mc10');
      expect(isJobCancelled(err)).toBe(true);
      expect(cancels(id)).toHaveLength(1);
      // a cancel asked for in reelbus is no MediaConvert failure (the alert counts those)
      expect(metrics.value(METRIC.mediaConvertJobs, { status: 'canceled' })).toBe(canceledBefore);
      // MediaConvert now reports it cancelled
      const res = await fetch(`${fake.endpoint}/2017-08-29/jobs/${id}`);
      expect(((await res.json()) as { job: { status: string } }).job.status).toBe('CANCELED');
    }, 60_000);

    it('while a GetJob is in flight (the SDK call is aborted, the job still cancelled)', async () => {
      fake.getDelayMs = 5_000;
      try {
        const { err, id } = await cancelMidway('mc11');
        expect(isJobCancelled(err)).toBe(true);
        // aborted while its first GetJob waited for the answer (5 s away): no second poll came
        const gets = fake.requests.filter((r) => r.method === 'GET' && r.path === `/2017-08-29/jobs/${id}`);
        expect(gets).toHaveLength(1);
        expect(cancels(id)).toHaveLength(1);
      } finally {
        fake.getDelayMs = 0;
      }
    }, 60_000);
  });

  it('repeats CreateJob with the same ClientRequestToken after a crash before the record, and MediaConvert answers with the same job', async () => {
    fake.nextOutcome = { status: 'COMPLETE', produce };
    const created = fake.created.length;
    const timeline = storyEvent('mc8').data.timeline;
    await backend().render({ jobId: 'mc8', timeline });
    // The crash window: CreateJob answered, the record never written.
    await blobs.delete('jobs/mc8/encode/mediaconvert/submitted.json');
    await blobs.delete('jobs/mc8/final.mp4');
    fake.nextOutcome = { status: 'COMPLETE', produce };

    const res = await backend()
      .render({ jobId: 'mc8', timeline })
      .catch((e: unknown) => e);
    const posts = fake.requests.filter(
      (r) =>
        r.method === 'POST' &&
        (r.body as { userMetadata?: Record<string, string> }).userMetadata?.reelbusJobId === 'mc8',
    );
    expect(posts).toHaveLength(2);
    expect((posts[1]!.body as { clientRequestToken: string }).clientRequestToken).toBe(
      (posts[0]!.body as { clientRequestToken: string }).clientRequestToken,
    );
    expect(fake.created).toHaveLength(created + 1);
    // The one job had already written its output, which the test removed: the render says so.
    expect((res as Error).message).toMatch(/completed but "jobs\/mc8\/final\.mp4" is not in the bucket/);
  }, 60_000);

  it('refuses to start on a filesystem blob store', () => {
    expect(
      () =>
        new MediaConvertBackend({
          blobs: new FsBlobStore({ root: join(dir, 'fs') }),
          tmpDir: dir,
          region: 'us-east-1',
          roleArn: ROLE,
        }),
    ).toThrow(/needs BLOB_STORE=s3/);
  });
});

describe.runIf(
  process.env.MEDIACONVERT_TEST_ENDPOINT &&
    process.env.MEDIACONVERT_TEST_ROLE_ARN &&
    process.env.S3_TEST_BUCKET,
)('real MediaConvert (MEDIACONVERT_TEST_ENDPOINT, MEDIACONVERT_TEST_ROLE_ARN, S3_TEST_BUCKET)', () => {
  it(
    'renders a story to final.mp4 in the test bucket',
    async () => {
      const region = process.env.AWS_REGION ?? 'us-east-1';
      const real = new S3BlobStore({ bucket: process.env.S3_TEST_BUCKET!, region });
      const src = join(dir, 'real');
      await real.putFile(
        'reelbus-test/voice.wav',
        await makeSpeech({ file: join(src, 'voice.wav'), text: 'A short story.' }),
      );
      await real.putFile(
        'reelbus-test/music.wav',
        await makeTone({ file: join(src, 'music.wav'), seconds: 10 }),
      );
      await real.putFile('reelbus-test/0.jpg', await makeImage({ file: join(src, '0.jpg') }));
      await real.putFile(
        'reelbus-test/logo.png',
        await makeImage({ file: join(src, 'logo.png'), color: 'orange' }),
      );
      const mc = new MediaConvertBackend({
        blobs: real,
        tmpDir: join(dir, 'tmp'),
        region,
        endpoint: process.env.MEDIACONVERT_TEST_ENDPOINT!,
        roleArn: process.env.MEDIACONVERT_TEST_ROLE_ARN!,
        ...(process.env.MEDIACONVERT_TEST_QUEUE ? { queue: process.env.MEDIACONVERT_TEST_QUEUE } : {}),
      });
      const jobId = `real-${Date.now()}`;
      const timeline = Timeline.parse(
        storyTimelineInput({
          voiceKey: 'reelbus-test/voice.wav',
          musicKey: 'reelbus-test/music.wav',
          imageKeys: ['reelbus-test/0.jpg'],
          logoKey: 'reelbus-test/logo.png',
        }),
      );
      const res = await mc.render({ jobId, timeline });
      expect(res.media.video?.width).toBe(1920);
      expect(res.media.durationSec).toBeGreaterThan(10);
    },
    20 * 60_000,
  );
});

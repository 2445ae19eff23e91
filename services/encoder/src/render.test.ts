import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timeline, type EventOf, type TimelineInput } from '@reelbus/contracts';
import { FsBlobStore, PermanentError, probe, runFfmpeg, type BlobStore } from '@reelbus/kit';
import {
  isFaststart,
  makeImage,
  makeSpeech,
  makeStereoCall,
  makeTone,
  makeVideo,
  meanLuma,
  motionEnergy,
  probeFacts,
} from '@reelbus/kit/testing';
import { renderTimelineEvent } from './handle-timeline.ts';
import { FfmpegBackend, type EncoderBackend } from './render.ts';
import { fakeHandlerContext, frameDifferences, meanVolumeDb } from './testing.ts';

let dir: string;
let blobs: FsBlobStore;
let tmp: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-encoder-test-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  tmp = join(dir, 'tmp');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The same fs store, but pretending to be remote (no local paths): inputs are downloaded like from S3. */
function remoteLike(store: BlobStore): BlobStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'localPath') return () => undefined;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function timelineEvent(jobId: string, timeline: TimelineInput): EventOf<'timeline.ready'> {
  return {
    id: `timeline.ready:${jobId}`,
    type: 'timeline.ready',
    version: 1,
    jobId,
    occurredAt: new Date().toISOString(),
    data: { kind: 'call', timeline: Timeline.parse(timeline) },
  };
}

describe('FfmpegBackend', () => {
  it('renders a call layout to a web-ready split-screen MP4 where each half shows its own speaker', async () => {
    const src = join(dir, 'src-call');
    // left: 4:3 testsrc2; right: a portrait clip of different, moving content
    // (the fs store moves files it is given: sources are read back from the store below)
    await blobs.putFile(
      'jobs/call1/clips/caller.mp4',
      await makeVideo({ file: join(src, 'caller.mp4'), seconds: 4, width: 320, height: 240 }),
    );
    const callee = join(src, 'callee.mp4');
    await runFfmpeg({
      step: 'fixture',
      args: [
        '-f',
        'lavfi',
        '-i',
        'mandelbrot=size=240x320:rate=25',
        '-t',
        '4',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        callee,
      ],
    });
    await blobs.putFile('jobs/call1/clips/callee.mp4', callee);
    const call = await makeStereoCall({
      dir: src,
      left: 'Hello, this is the caller.',
      right: 'Hi, callee here.',
    });
    await blobs.putFile('jobs/call1/input/recording.wav', call.file);
    const recording = await probe(blobs.localPath('jobs/call1/input/recording.wav')!);
    const T = recording.durationSec;

    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: tmp, preset: 'ultrafast' });
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: timelineEvent('call1', {
        version: 1,
        duration: T,
        tracks: [
          {
            clips: [
              {
                type: 'video',
                source: { key: 'jobs/call1/clips/caller.mp4' },
                start: 0,
                duration: T,
                loop: true,
                position: { x: 0, y: 0, width: 640, height: 720 },
                // as the compositor's call layout: the recording carries the voices (this clip has a tone)
                volume: 0,
              },
              {
                type: 'video',
                source: { key: 'jobs/call1/clips/callee.mp4' },
                start: 0,
                duration: T,
                loop: true,
                position: { x: 640, y: 0, width: 640, height: 720 },
                volume: 0,
              },
            ],
          },
        ],
        audio: [{ name: 'call', source: { key: 'jobs/call1/input/recording.wav' } }],
      }),
      ctx,
      deps: { backends: new Map<string, EncoderBackend>([['ffmpeg', ffmpeg]]), defaultBackend: 'ffmpeg' },
    });
    expect(outcome).toEqual({ outcome: 'ok' });

    const file = blobs.localPath('jobs/call1/final.mp4')!;
    const facts = probeFacts(file);
    expect(facts.video).toMatchObject({
      codec: 'h264',
      profile: 'High',
      pixFmt: 'yuv420p',
      width: 1280,
      height: 720,
    });
    expect(facts.audio).toMatchObject({ codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 });
    expect(isFaststart(file)).toBe(true);
    expect(Math.abs(facts.durationSec - T)).toBeLessThanOrEqual(1 / 30 + 1e-3);
    // the call's loudness is the recording's: the muted clips add nothing (the caller clip has a tone)
    const recordingFile = blobs.localPath('jobs/call1/input/recording.wav')!;
    const loudness = (f: string) => meanVolumeDb({ file: f, start: 0, duration: T });
    expect(Math.abs(loudness(file) - loudness(recordingFile))).toBeLessThan(1);

    // Each half shows its own source at the same moment: the letterboxed picture's mean luma follows
    // the source's (left 320x240 → 640x480 at y=120; right 240x320 → 540x720 at x=690).
    const leftRect = { x: 8, y: 128, width: 624, height: 464 };
    const rightRect = { x: 698, y: 8, width: 524, height: 704 };
    const samples = [0.5, 1.7, 3.1];
    const left = samples.map((at) => meanLuma({ file, rect: leftRect, at }));
    const right = samples.map((at) => meanLuma({ file, rect: rightRect, at }));
    const leftSrc = samples.map((at) =>
      meanLuma({
        file: blobs.localPath('jobs/call1/clips/caller.mp4')!,
        rect: { x: 4, y: 4, width: 312, height: 232 },
        at,
      }),
    );
    const rightSrc = samples.map((at) =>
      meanLuma({
        file: blobs.localPath('jobs/call1/clips/callee.mp4')!,
        rect: { x: 4, y: 4, width: 232, height: 312 },
        at,
      }),
    );
    samples.forEach((_, i) => {
      expect(Math.abs(left[i]! - leftSrc[i]!)).toBeLessThan(4);
      expect(Math.abs(right[i]! - rightSrc[i]!)).toBeLessThan(4);
    });
    // the halves differ, and each moves over time (frame-to-frame change inside each picture)
    expect(Math.max(...samples.map((_, i) => Math.abs(left[i]! - right[i]!)))).toBeGreaterThan(5);
    expect(motionEnergy({ file, rect: leftRect, start: 0.5, duration: 2 })).toBeGreaterThan(0.5);
    expect(motionEnergy({ file, rect: rightRect, start: 0.5, duration: 2 })).toBeGreaterThan(0.5);
    // and the letterbox bars stay the background (black)
    expect(meanLuma({ file, rect: { x: 0, y: 0, width: 640, height: 100 }, at: 1 })).toBeLessThan(20);

    expect(ctx.published).toHaveLength(1);
    expect(ctx.published[0]).toMatchObject({
      type: 'video.encoded',
      jobId: 'call1',
      id: 'video.encoded:call1',
      data: {
        key: 'jobs/call1/final.mp4',
        width: 1280,
        height: 720,
        videoCodec: 'h264',
        audioCodec: 'aac',
        backend: 'ffmpeg',
      },
    });
    const data = ctx.published[0]!.data as { durationSec: number; sizeBytes: number; encodeSeconds: number };
    expect(Math.abs(data.durationSec - T)).toBeLessThan(0.05);
    expect(data.sizeBytes).toBe((await blobs.stat('jobs/call1/final.mp4'))!.size);
    expect(data.encodeSeconds).toBeGreaterThan(0);
    expect(ctx.progress.calls[0]).toEqual([
      'encode',
      'started',
      0,
      'rendering with ffmpeg',
      { phase: 'preparing' },
    ]);
    expect(ctx.progress.calls.map((c) => (c[4] as { phase?: string } | undefined)?.phase)).toContain(
      'rendering',
    );
    expect(ctx.progress.calls.at(-1)).toEqual(['encode', 'completed', 100, undefined, { phase: 'complete' }]);
    expect(ctx.workingCalls).toBeGreaterThan(0);
    expect(await readdir(tmp)).toEqual([]); // temp files removed
  });

  it('pans and zooms a still image smoothly, frame by frame, from inputs downloaded like S3', async () => {
    const src = join(dir, 'src-slides');
    await blobs.putFile(
      'slides/a.jpg',
      await makeImage({ file: join(src, 'a.jpg'), width: 1600, height: 1200 }),
    );
    await blobs.putFile(
      'slides/logo.png',
      await makeImage({ file: join(src, 'logo.png'), width: 200, height: 100, color: 'white' }),
    );
    const ffmpeg = new FfmpegBackend({ blobs: remoteLike(blobs), tmpDir: tmp, preset: 'ultrafast' });
    const res = await ffmpeg.render({
      jobId: 'slides1',
      timeline: Timeline.parse({
        version: 1,
        tracks: [
          {
            clips: [
              {
                type: 'image',
                source: { key: 'slides/a.jpg' },
                start: 0,
                duration: 3,
                fit: 'cover',
                fadeOut: 0.5,
                motion: {
                  type: 'kenburns',
                  from: { zoom: 1, x: 0.5, y: 0.5 },
                  to: { zoom: 1.3, x: 0.3, y: 0.6 },
                },
              },
            ],
          },
          {
            clips: [
              {
                type: 'image',
                source: { key: 'slides/logo.png' },
                start: 0,
                duration: 3,
                opacity: 0.8,
                position: { x: 1060, y: 20, width: 200, height: 100 },
              },
            ],
          },
        ],
      }),
    });
    expect(res.key).toBe('jobs/slides1/final.mp4');
    const file = blobs.localPath(res.key)!;
    // Inside the image's span (before the fade) every frame moves, and steadily: zoompan stepping
    // whole pixels (no oversampling) makes the frame-to-frame change jump around (measured: the mean
    // change-of-change is ~0.2-0.5 of the mean change at ×1, ~0.1 at ×4).
    const diffs = frameDifferences({
      file,
      rect: { x: 0, y: 200, width: 1000, height: 500 },
      start: 0.2,
      duration: 2,
    });
    expect(diffs.length).toBeGreaterThan(50);
    const moving = diffs.slice(1); // tblend's first frame compares a frame with itself
    expect(Math.min(...moving)).toBeGreaterThan(0.3);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const jitter = mean(moving.slice(1).map((v, i) => Math.abs(v - moving[i]!))) / mean(moving);
    expect(jitter).toBeLessThan(0.15);
    // the logo at 0.8 over the picture: brighter than the picture but not pure white
    const logo = meanLuma({ file, rect: { x: 1070, y: 30, width: 180, height: 80 }, at: 1 });
    expect(logo).toBeGreaterThan(150);
    expect(logo).toBeLessThan(250);
  });

  it('keeps the music bed 25 dB down and ducks it further under the voice', async () => {
    const src = join(dir, 'src-music');
    // espeak speaks at 22.05 kHz: nothing above 11 kHz, so a 15 kHz tone can be measured apart from the voice
    await blobs.putFile(
      'audio/voice.wav',
      await makeSpeech({
        text: 'This is the narrator speaking over the music for a few seconds now.',
        file: join(src, 'voice.wav'),
      }),
    );
    await blobs.putFile(
      'audio/music.wav',
      await makeTone({ file: join(src, 'music.wav'), seconds: 2, frequency: 15000, volume: 4 }),
    );
    const voiceLen = (await probe(join(dir, 'blobs/audio/voice.wav'))).durationSec;
    const hp = 'highpass=f=13000,highpass=f=13000';
    // the source's level as the stereo mix plays it (mono spreads to both channels at -3 dB), through the same filter
    const toneDb = meanVolumeDb({
      file: join(dir, 'blobs/audio/music.wav'),
      start: 0,
      duration: 2,
      af: `aformat=channel_layouts=stereo,${hp}`,
    });
    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: tmp, preset: 'ultrafast' });
    const T = 3 + voiceLen + 2;
    const res = await ffmpeg.render({
      jobId: 'music1',
      timeline: Timeline.parse({
        version: 1,
        duration: T,
        output: { width: 320, height: 180 },
        audio: [
          { name: 'voice', source: { key: 'audio/voice.wav' }, start: 3 },
          {
            name: 'music',
            source: { key: 'audio/music.wav' },
            loop: true,
            gainDb: -25,
            duck: { under: 'voice', amountDb: 10 },
          },
        ],
      }),
    });
    const file = blobs.localPath(res.key)!;
    expect(Math.abs(res.media.durationSec - T)).toBeLessThan(0.05);
    const music = (start: number, duration: number) => meanVolumeDb({ file, start, duration, af: hp });
    // music only (0.5-2.5 s, it loops past its 2 s source): the tone sits 25 dB under its source level
    const bed = music(0.5, 2);
    expect(Math.abs(bed - (toneDb - 25))).toBeLessThan(3);
    // while the voice speaks, the bed dips further
    const underVoice = music(3.5, Math.max(0.5, voiceLen - 1));
    expect(bed - underVoice).toBeGreaterThan(4);
    // and the voice stands well above the bed
    const speech = meanVolumeDb({
      file,
      start: 3.5,
      duration: Math.max(0.5, voiceLen - 1),
      af: 'lowpass=f=8000',
    });
    expect(speech - underVoice).toBeGreaterThan(15);
  });

  it('fails permanently, naming the clip field, when a source blob is missing', async () => {
    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: tmp });
    const render = ffmpeg.render({
      jobId: 'missing1',
      timeline: Timeline.parse({
        version: 1,
        tracks: [
          {
            clips: [
              { type: 'color', color: '#000000', start: 0, duration: 1 },
              { type: 'video', source: { key: 'jobs/missing1/clips/nope.mp4' }, start: 0, duration: 1 },
            ],
          },
        ],
      }),
    });
    await expect(render).rejects.toBeInstanceOf(PermanentError);
    await expect(render).rejects.toThrow(
      'tracks[0].clips[1].source.key: "jobs/missing1/clips/nope.mp4" is not in blob storage',
    );
    const remote = new FfmpegBackend({ blobs: remoteLike(blobs), tmpDir: tmp });
    await expect(
      remote.render({
        jobId: 'missing2',
        timeline: Timeline.parse({
          version: 1,
          audio: [{ name: 'm', source: { key: 'nope.wav' } }],
          duration: 1,
        }),
      }),
    ).rejects.toThrow('audio[0].source.key: "nope.wav" is not in blob storage');
  });

  it('fails permanently when a source is not media, and the handler turns that into a fail outcome', async () => {
    await blobs.put('jobs/bad1/clips/caller.mp4', 'this is not a video');
    const ffmpeg = new FfmpegBackend({ blobs, tmpDir: tmp });
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: timelineEvent('bad1', {
        version: 1,
        tracks: [
          {
            clips: [{ type: 'video', source: { key: 'jobs/bad1/clips/caller.mp4' }, start: 0, duration: 1 }],
          },
        ],
      }),
      ctx,
      deps: { backends: new Map([['ffmpeg', ffmpeg]]), defaultBackend: 'ffmpeg' },
    });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'encode' });
    expect((outcome as { reason: string }).reason).toContain(
      'tracks[0].clips[0].source.key: "jobs/bad1/clips/caller.mp4" is not a readable media file',
    );
    expect(ctx.published).toEqual([]);
  });

  it('refuses a backend it does not have', async () => {
    const ctx = fakeHandlerContext();
    const outcome = await renderTimelineEvent({
      event: {
        ...timelineEvent('mc1', { version: 1, duration: 1 }),
        data: {
          kind: 'render',
          timeline: Timeline.parse({ version: 1, duration: 1 }),
          backend: 'mediaconvert',
        },
      },
      ctx,
      deps: {
        backends: new Map([['ffmpeg', new FfmpegBackend({ blobs, tmpDir: tmp })]]),
        defaultBackend: 'ffmpeg',
      },
    });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'encode',
      reason:
        'timeline.ready data.backend: unknown encoder backend "mediaconvert" (this encoder has ffmpeg; set MEDIACONVERT_ROLE_ARN and AWS_REGION, with BLOB_STORE=s3, to enable it)',
    });
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '@reelbus/contracts';
import { FsBlobStore, probe } from '@reelbus/kit';
import { makeDamagedMp3, makeSilence, truncateWav } from '@reelbus/kit/testing';
import { recordingContext } from '../test-support.ts';
import { audioExtension } from './fetch-audio.ts';
import { handleStoryAudio, storyKeys, type StoryAudioSettings } from './handle-story.ts';
import { buildApplyArgs, buildMeasureArgs, DEFAULT_LOUDNESS_TARGET, parseLoudnormJson } from './loudnorm.ts';
import { integratedLoudness, makeQuietStory, storyReceived } from './test-support.ts';

let dir: string;
let blobs: FsBlobStore;
let quiet: string;
let server: Server;
let base: string;

const settings = (allowPrivate = true): StoryAudioSettings => ({
  fetch: { allowPrivate, timeoutMs: 5000, maxBytes: 50 * 1024 * 1024 },
  loudness: DEFAULT_LOUDNESS_TARGET,
  tmpDir: dir,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-story-audio-'));
  blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  quiet = await makeQuietStory({ dir });
  server = createServer(async (req, res) => {
    if (req.url === '/stories/42/recording') {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      return res.end(await readFile(quiet));
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function run(jobId: string, data: unknown, allowPrivate = true) {
  const rec = recordingContext();
  const outcome = await handleStoryAudio({
    event: storyReceived({ jobId, data }),
    ctx: rec.ctx,
    blobs,
    settings: settings(allowPrivate),
  });
  return {
    outcome,
    rec,
    event: rec.published.find((e) => e.type === 'audio.normalized') as
      EventOf<'audio.normalized'> | undefined,
  };
}

describe('loudnorm arguments', () => {
  it('measures in a first pass and applies the measured values in a second, into 48 kHz FLAC', () => {
    expect(buildMeasureArgs({ input: 'in.wav' })).toEqual([
      '-i',
      'in.wav',
      '-map',
      '0:a:0',
      '-af',
      'loudnorm=I=-16:TP=-1.5:LRA=11:print_format=json',
      '-f',
      'null',
      '-',
    ]);
    const measured = { inputI: -30.2, inputTp: -12.1, inputLra: 4.5, inputThresh: -40.7, targetOffset: 0.3 };
    expect(buildApplyArgs({ input: 'in.wav', output: 'voice.flac', measured, channels: 6 })).toEqual([
      '-i',
      'in.wav',
      '-map',
      '0:a:0',
      '-af',
      'loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-30.2:measured_TP=-12.1:measured_LRA=4.5:measured_thresh=-40.7:offset=0.3:linear=true:print_format=json,aresample=48000',
      '-ar',
      '48000',
      '-ac',
      '2',
      '-c:a',
      'flac',
      '-sample_fmt',
      's32',
      'voice.flac',
    ]);
  });

  it('reads loudnorm’s JSON report, silence included', () => {
    const lines = [
      '[Parsed_loudnorm_0 @ 0x55] ',
      '{',
      '\t"input_i" : "-inf",',
      '\t"input_tp" : "-inf",',
      '\t"input_lra" : "0.00",',
      '\t"input_thresh" : "-70.00",',
      '\t"output_i" : "-16.02",',
      '\t"target_offset" : "inf",',
      '\t"normalization_type" : "dynamic"',
      '}',
    ];
    expect(parseLoudnormJson({ lines })).toEqual({
      inputI: -Infinity,
      inputTp: -Infinity,
      inputLra: 0,
      inputThresh: -70,
      targetOffset: Infinity,
      outputI: -16.02,
      normalizationType: 'dynamic',
    });
    expect(parseLoudnormJson({ lines: ['no json here'] })).toBeUndefined();
  });

  it('names the stored input after the URL’s extension, else its content type', () => {
    expect(audioExtension({ url: 'https://cdn.example/a/story.MP3?sig=1' })).toBe('.mp3');
    expect(
      audioExtension({ url: 'https://cdn.example/a/recording', contentType: 'audio/wav; codecs=1' }),
    ).toBe('.wav');
    expect(audioExtension({ url: 'https://cdn.example/a/recording' })).toBe('.audio');
  });
});

describe('handleStoryAudio', () => {
  it('normalises a quiet story to -16 LUFS (measured independently) keeping its real duration', async () => {
    const jobId = 'story-quiet';
    await blobs.put(`uploads/${jobId}/story.wav`, await readFile(quiet));
    const source = await probe(quiet);
    const before = await integratedLoudness(quiet);
    const { outcome, event } = await run(jobId, { audio: { key: `uploads/${jobId}/story.wav` } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(event?.id).toBe(`audio.normalized:${jobId}`);
    expect(event?.data).toMatchObject({
      sourceKey: `uploads/${jobId}/story.wav`,
      key: storyKeys.voice(jobId),
      sampleRate: 48000,
      channels: 1,
      startSec: 0,
    });

    const voice = blobs.localPath(storyKeys.voice(jobId))!;
    const out = await probe(voice);
    expect(out.audio).toMatchObject({ codec: 'flac', sampleRate: 48000, channels: 1 });
    const after = await integratedLoudness(voice);
    console.log(
      `story loudness ${before.toFixed(1)} LUFS → ${after.toFixed(1)} LUFS (event: ${event?.data.integratedLufs}); ` +
        `duration ${source.durationSec.toFixed(3)} s → ${out.durationSec.toFixed(3)} s`,
    );
    expect(before).toBeLessThan(-25); // the fixture really is quiet
    expect(Math.abs(after - -16)).toBeLessThanOrEqual(1);
    expect(Math.abs((event?.data.integratedLufs ?? NaN) - after)).toBeLessThanOrEqual(1);
    expect(Math.abs(out.durationSec - source.durationSec)).toBeLessThanOrEqual(0.05);
    expect(event?.data.durationSec).toBeCloseTo(out.durationSec, 3);
  });

  it('fetches a story-audio URL into the job’s input and normalises it', async () => {
    const jobId = 'story-url';
    const { outcome, event } = await run(jobId, { audio: { url: `${base}/stories/42/recording` } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(event?.data.sourceKey).toBe(storyKeys.input(jobId, '.wav'));
    expect((await blobs.stat(storyKeys.input(jobId, '.wav')))?.size).toBe((await readFile(quiet)).length);
  });

  it('refuses a private-address URL unless private URLs are allowed', async () => {
    const { outcome } = await run(
      'story-ssrf',
      { audio: { url: 'https://169.254.169.254/latest/meta-data/' } },
      false,
    );
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'download',
      reason: 'https://169.254.169.254/latest/meta-data/: refused: 169.254.169.254 is a link-local address',
    });
  });

  it('fails a 404 story-audio URL with the status', async () => {
    const { outcome } = await run('story-404', { audio: { url: `${base}/nothing.mp3` } });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'download',
      reason: `download of the story audio failed: ${base}/nothing.mp3 answered HTTP 404 Not Found`,
    });
  });

  it.each([
    [
      'random bytes',
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
      /^the story audio is not an audio file \(ffprobe: /,
    ],
    [
      'a text file',
      Buffer.from('this is not audio\n'.repeat(40)),
      /^the story audio is not an audio file \(ffprobe: /,
    ],
    ['an empty file', Buffer.alloc(0), /^the story audio is empty \(0 bytes\)$/],
  ])('fails corrupt story audio (%s) with a clear reason', async (_name, bytes, reason) => {
    const jobId = `story-bad-${_name.replace(/\W+/g, '-')}`;
    await writeFile(join(dir, `${jobId}.mp3`), bytes);
    await blobs.put(`uploads/${jobId}/story.mp3`, bytes);
    const { outcome, event } = await run(jobId, { audio: { key: `uploads/${jobId}/story.mp3` } });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'normalize' });
    expect((outcome as { reason: string }).reason).toMatch(reason);
    expect(event).toBeUndefined();
  });

  it('normalises a truncated WAV to the audio that exists, and warns that the rest is missing', async () => {
    // a WAV header promising twice the data that follows: ffmpeg decodes what exists
    const jobId = 'story-truncated';
    const cut = await truncateWav({ source: quiet, file: join(dir, 'truncated.wav'), keepFraction: 0.5 });
    await blobs.put(`uploads/${jobId}/story.wav`, await readFile(cut.file));
    const { outcome, event, rec } = await run(jobId, { audio: { key: `uploads/${jobId}/story.wav` } });
    expect(outcome).toEqual({ outcome: 'ok' });
    // the duration is the audio that exists, not what the header claims
    const kept = event!.data.durationSec;
    expect(Math.abs(kept - cut.declaredSec / 2)).toBeLessThan(0.05);
    expect(rec.warnings).toEqual([
      {
        step: 'normalize',
        message:
          `the story audio story.wav is damaged: ${r2(cut.declaredSec - kept)} s of its ${r2(cut.declaredSec)} s ` +
          `could not be decoded (the audio that decoded ends at ${r2(kept)} s). The video uses the ${r2(kept)} s that decoded.`,
      },
    ]);
  });

  it('normalises a truncated MP3 followed by garbage, and warns naming the file, the loss and the decode errors', async () => {
    const jobId = 'story-mp3-garbage';
    const mp3 = await makeDamagedMp3({ source: quiet, file: join(dir, 'damaged.mp3'), keepFraction: 0.5 });
    await blobs.put(`uploads/${jobId}/story.mp3`, await readFile(mp3.file));
    const { outcome, event, rec } = await run(jobId, { audio: { key: `uploads/${jobId}/story.mp3` } });
    expect(outcome).toEqual({ outcome: 'ok' });
    const kept = event!.data.durationSec;
    expect(Math.abs(kept - mp3.declaredSec / 2)).toBeLessThan(0.3);
    // the FLAC really holds that much audio
    expect(Math.abs((await probe(blobs.localPath(event!.data.key))).durationSec - kept)).toBeLessThan(0.01);
    expect(rec.warnings).toHaveLength(1);
    expect(rec.warnings[0]!.step).toBe('normalize');
    expect(rec.warnings[0]!.message).toMatch(
      new RegExp(
        `^the story audio story\\.mp3 is damaged: [\\d.]+ s of its ${r2(mp3.declaredSec)} s could not be decoded ` +
          `\\(the audio that decoded ends at [\\d.]+ s\\); (a decode error|\\d+ decode errors) at [\\d.]+ s ` +
          `\\(ffmpeg: Invalid data found when processing input\\)\\. The video uses the [\\d.]+ s that decoded\\.$`,
      ),
    );
  });

  it('fails an MP3 of which almost nothing decodes, saying nothing usable is left', async () => {
    const jobId = 'story-mp3-ruined';
    const mp3 = await makeDamagedMp3({ source: quiet, file: join(dir, 'ruined.mp3'), keepFraction: 0.02 });
    await blobs.put(`uploads/${jobId}/story.mp3`, await readFile(mp3.file));
    const { outcome, event } = await run(jobId, { audio: { key: `uploads/${jobId}/story.mp3` } });
    expect(outcome).toMatchObject({ outcome: 'fail', step: 'normalize' });
    expect((outcome as { reason: string }).reason).toMatch(
      new RegExp(
        `^the story audio story\\.mp3 is damaged: only 0\\.\\d+ s of the ${r2(mp3.declaredSec)} s it declares could be decoded ` +
          `\\(ffmpeg: .+\\); nothing usable is left`,
      ),
    );
    expect(event).toBeUndefined();
  });

  it('says nothing about a healthy MP3', async () => {
    const jobId = 'story-mp3-whole';
    const mp3 = await makeDamagedMp3({ source: quiet, file: join(dir, 'whole.mp3'), keepFraction: 1 });
    await blobs.put(`uploads/${jobId}/story.mp3`, await readFile(mp3.file));
    const { outcome, rec } = await run(jobId, { audio: { key: `uploads/${jobId}/story.mp3` } });
    expect(outcome).toEqual({ outcome: 'ok' });
    expect(rec.warnings).toEqual([]);
  });

  it('fails silent story audio instead of amplifying nothing', async () => {
    const jobId = 'story-silent';
    const silent = await makeSilence({ file: join(dir, 'silent.wav'), seconds: 3 });
    await blobs.put(`uploads/${jobId}/story.wav`, await readFile(silent));
    const { outcome } = await run(jobId, { audio: { key: `uploads/${jobId}/story.wav` } });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'normalize',
      reason: 'the story audio is silent (no measurable loudness); record it again',
    });
  });

  it('fails a missing blob key naming it', async () => {
    const { outcome } = await run('story-missing', { audio: { key: 'uploads/none/story.wav' } });
    expect(outcome).toEqual({
      outcome: 'fail',
      step: 'normalize',
      reason: 'the story audio was not found in blob storage (key uploads/none/story.wav)',
    });
  });
});

/** Seconds as the warnings print them. */
const r2 = (n: number) => Math.round(n * 100) / 100;

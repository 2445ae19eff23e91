import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore, SAMPLE_TRACKS, probe, seedSampleLibrary } from '@reelbus/kit';
import {
  isFaststart,
  makeSpeech,
  meanLuma,
  motionEnergy,
  probeFacts,
  volumeStats,
} from '@reelbus/kit/testing';
import { makePicture } from '../sample.ts';
import { submitStory } from '../story.ts';
import { ROOT, sharedE2E, type SharedE2E } from './harness.ts';

// The story flow needs the image-converter and the audio-splitter's story handler (issue 4).
const ready = existsSync(join(ROOT, 'services/image-converter/src/main.ts'));
if (!ready)
  console.warn(
    'story e2e skipped: services/image-converter/src/main.ts is missing (the image-converter is not there yet)',
  );

/** The corner logo's box (services/compositor/src/story/timeline.ts `cornerLogoRect`). */
const CORNER = { x: 1640, y: 904, width: 240, height: 136 };
const CENTRE = { x: 640, y: 300, width: 640, height: 360 };
const INTRO = 3;
const OUTRO = 2;
const GAIN_DB = -25;
const FRAME = 1 / 30;

describe.skipIf(!ready)('spoken story → branded slideshow video, end to end', () => {
  let e2e: SharedE2E;
  let blobDir: string;

  beforeAll(async () => {
    e2e = await sharedE2E();
    // A small music library seeded up front (one mood, short variants), so the compositor does not
    // spend the test synthesising the whole sample library (it seeds only when music/ is empty; no
    // other file on the shared stack makes stories).
    blobDir = e2e.stack.blobDir;
    await seedSampleLibrary({
      blobs: new FsBlobStore({ root: blobDir }),
      tracks: SAMPLE_TRACKS.filter((t) => t.mood === 'family'),
      variants: [30, 60],
    });
  }, 300_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('renders intro, the photos moving under the voice with the corner logo, outro, and music 25 dB under the speech', async () => {
    const voice = await makeSpeech({
      file: join(e2e.dir, 'story.wav'),
      text: 'When I was nine, we drove to the sea every summer. My father sang the whole way, and my mother laughed at every wrong note.',
      rate: 160,
    });
    const voiceSec = (await probe(voice)).durationSec;
    const photo = await makePicture({ file: join(e2e.dir, 'me.jpg'), width: 1200, height: 900, hue: 10 });
    const ai1 = await makePicture({ file: join(e2e.dir, 'ai-1.png'), width: 1344, height: 768, hue: 140 });
    const ai2 = await makePicture({ file: join(e2e.dir, 'ai-2.png'), width: 1344, height: 768, hue: 260 });

    const { jobId } = await submitStory({
      client: { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey },
      audio: voice,
      userPhoto: photo,
      images: [ai1, ai2],
      storyteller: 'Rose',
      title: 'Summers by the sea',
      music: { mood: 'family', gainDb: GAIN_DB },
      brand: { introSeconds: INTRO, outroSeconds: OUTRO },
    });
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    if (job.status !== 'completed')
      console.error(
        (await e2e.recentLogs(2_000))
          .filter((l) => /warn|error/i.test(l))
          .slice(-30)
          .join('\n'),
      );
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(job.kind).toBe('story');
    const file = join(blobDir, job.outputs.video!.key);

    // iOS-ready MP4.
    const facts = probeFacts(file);
    expect(facts.video).toMatchObject({
      codec: 'h264',
      profile: 'High',
      pixFmt: 'yuv420p',
      width: 1920,
      height: 1080,
    });
    expect(facts.video!.fps).toBeCloseTo(30, 3);
    expect(facts.audio).toMatchObject({ codec: 'aac', profile: 'LC', sampleRate: 48000, channels: 2 });
    expect(isFaststart(file)).toBe(true);

    // Length: intro + the voice's real length + outro, within a frame.
    const total = INTRO + voiceSec + OUTRO;
    expect(Math.abs(facts.durationSec - total)).toBeLessThanOrEqual(FRAME + 0.001);

    // Corner logo: there during the content, not in the intro or outro (where the corner shows the background).
    const introCorner = meanLuma({ file, rect: CORNER, at: 1.5 });
    const outroCorner = meanLuma({ file, rect: CORNER, at: total - 1 });
    const slot = voiceSec / 3;
    const mids = [0, 1, 2].map((i) => INTRO + (i + 0.5) * slot);
    for (const at of mids)
      expect(meanLuma({ file, rect: CORNER, at })).toBeLessThan(Math.min(introCorner, outroCorner) - 40);
    expect(Math.abs(introCorner - outroCorner)).toBeLessThan(8);

    // Ken Burns: each picture moves within its own span (away from the crossfades); the intro logo holds still.
    const still = motionEnergy({ file, rect: CENTRE, start: 1.1, duration: 0.8 });
    for (const mid of mids) {
      const moving = motionEnergy({ file, rect: CENTRE, start: mid - 0.4, duration: 0.8 });
      expect(moving).toBeGreaterThan(0.1);
      expect(moving).toBeGreaterThan(still * 5);
    }

    // Music sits gainDb under the speech: the music-only intro and outro against the spoken part.
    const speech = volumeStats({ file, start: INTRO, duration: voiceSec });
    const introMusic = volumeStats({ file, start: 1.1, duration: 1.7 });
    const outroMusic = volumeStats({ file, start: INTRO + voiceSec + 0.1, duration: 0.8 });
    for (const music of [introMusic, outroMusic]) {
      expect(music.meanDb).toBeGreaterThan(-70); // music is there
      const levels = JSON.stringify({ speech, introMusic, outroMusic });
      expect(Math.abs(speech.meanDb - music.meanDb - -GAIN_DB), levels).toBeLessThanOrEqual(3);
    }

    expect(job.steps.compose?.status).toBe('completed');
    expect(job.steps.encode?.status).toBe('completed');
  }, 300_000);
});

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFaststart, makeDamagedMp3, probeFacts, type DamagedFixture } from '@reelbus/kit/testing';
import { makeSampleCall } from '../sample.ts';
import { sharedE2E, type SharedE2E } from './harness.ts';

// Issue 11 §3 through the real stack: a truncated MP3 followed by garbage becomes a video of what
// decodes, and the finished job says what was lost.
describe('a partly damaged call recording, end to end', () => {
  let e2e: SharedE2E;
  let mp3: DamagedFixture;

  beforeAll(async () => {
    e2e = await sharedE2E();
    const sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
    mp3 = await makeDamagedMp3({ source: sample.file, file: join(e2e.dir, 'call.mp3'), keepFraction: 0.5 });
  }, 300_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('completes with a video as long as the audio that decoded and a warning naming the file and the loss', async () => {
    const { jobId } = await e2e.client.submitRecording({ file: mp3.file });
    const job = await e2e.client.follow(jobId, () => {}, { pollMs: 250 });
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    const damaged = job.warnings.filter((w) => w.startsWith('the recording recording.mp3 is damaged: '));
    expect(damaged, JSON.stringify(job.warnings)).toHaveLength(1);
    const m = /could not be decoded \(the audio that decoded ends at ([\d.]+) s\); .*decode errors? at/.exec(
      damaged[0]!,
    );
    expect(m, damaged[0]).not.toBeNull();
    const decodedSec = Number(m![1]);
    expect(Math.abs(decodedSec - mp3.declaredSec / 2)).toBeLessThan(0.5);

    // the video exists, plays on the web, and lasts as long as the audio that decoded (not the 100 % declared)
    const video = job.outputs.video!;
    const file = join(e2e.stack.blobDir, video.key);
    const facts = probeFacts(file);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 1280, height: 720 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(isFaststart(file)).toBe(true);
    expect(Math.abs(facts.durationSec - decodedSec)).toBeLessThan(0.15);
  }, 180_000); // renders a call video
});

import { describe, expect, it } from 'vitest';
import { adtsHeader, joinAdts, parseAdts, planAudioJoin, type AudioJoinClip } from './audio-join.ts';

const RATE = 48000;
const ffmpegClip = (seconds: number, audioSeconds = seconds): AudioJoinClip => ({
  videoSamples: seconds * RATE,
  // ffmpeg's AAC: 1024 samples of priming, then whole frames up to the end.
  audio: { frames: 1 + Math.ceil((audioSeconds * RATE) / 1024), primingSamples: 1024, leadSamples: 0 },
});

describe('planAudioJoin', () => {
  it('keeps 20 joined 2 s clips within half an AAC frame of the picture at every join and at the end', () => {
    const plan = planAudioJoin({ clips: Array.from({ length: 20 }, () => ffmpegClip(2)) });
    expect(plan.preroll).toEqual([{ clip: 0, frame: 0 }]);
    for (const s of plan.starts) expect(Math.abs(s.audioSample - s.videoSample)).toBeLessThanOrEqual(512);
    expect(Math.abs(plan.frames.length * 1024 - 40 * RATE)).toBeLessThanOrEqual(512);
    // every later clip's priming frame is played just before its picture starts
    expect(plan.frames.filter((f) => 'frame' in f && f.frame === 0)).toHaveLength(19);
    expect(plan.silentFrames).toBe(0);
  });

  it('also holds for 25 fps clips whose length is no whole number of AAC frames', () => {
    const clips = Array.from({ length: 20 }, (_, i) => ffmpegClip((37 + i) / 25));
    const plan = planAudioJoin({ clips });
    const total = clips.reduce((s, c) => s + c.videoSamples, 0);
    for (const s of plan.starts) expect(Math.abs(s.audioSample - s.videoSample)).toBeLessThanOrEqual(512);
    expect(Math.abs(plan.frames.length * 1024 - total)).toBeLessThanOrEqual(512);
  });

  it('fills a clip without sound with silent frames and starts the next clip on its picture', () => {
    const plan = planAudioJoin({ clips: [ffmpegClip(2), { videoSamples: 3 * RATE }, ffmpegClip(2)] });
    // 3 s of silence, give or take the frames that even out the rounding and the next priming
    expect(Math.abs(plan.silentFrames - (3 * RATE) / 1024)).toBeLessThanOrEqual(2);
    expect(Math.abs(plan.starts[2]!.audioSample - 5 * RATE)).toBeLessThanOrEqual(512);
  });

  it('pads a short sound with silence and cuts a long one to its picture', () => {
    const plan = planAudioJoin({ clips: [ffmpegClip(2, 1), ffmpegClip(2, 3), ffmpegClip(2)] });
    expect(plan.silentFrames).toBeGreaterThanOrEqual(Math.floor(RATE / 1024));
    const fromClip1 = plan.frames.filter((f) => 'clip' in f && f.clip === 1).length;
    expect(Math.abs(fromClip1 * 1024 - 2 * RATE)).toBeLessThanOrEqual(1024);
    expect(Math.abs(plan.starts[2]!.audioSample - 4 * RATE)).toBeLessThanOrEqual(512);
  });

  it('starts sound that begins late in its clip that late, and places priming of 2112 samples (Apple) before the picture', () => {
    const plan = planAudioJoin({
      clips: [
        ffmpegClip(2),
        { videoSamples: 2 * RATE, audio: { frames: 100, primingSamples: 0, leadSamples: RATE / 2 } },
        { videoSamples: 2 * RATE, audio: { frames: 100, primingSamples: 2112, leadSamples: 0 } },
      ],
    });
    expect(Math.abs(plan.starts[1]!.audioSample - (2 * RATE + RATE / 2))).toBeLessThanOrEqual(512);
    expect(plan.frames.filter((f) => 'clip' in f && f.clip === 2)[0]).toEqual({ clip: 2, frame: 0 });
    expect(Math.abs(plan.starts[2]!.audioSample - 4 * RATE)).toBeLessThanOrEqual(512);
  });
});

/** A minimal ADTS frame of `payload` bytes (AAC-LC 48 kHz stereo). */
function adtsFrame(payload: number, fill = 0): Uint8Array {
  const len = 7 + payload;
  const f = new Uint8Array(len).fill(fill);
  f.set([0xff, 0xf1, 0x4c, 0x80 | ((len >> 11) & 3), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]);
  return f;
}

describe('ADTS', () => {
  it('splits a stream into frames and joins frames and silence as planned', () => {
    const a = [adtsFrame(10, 1), adtsFrame(20, 2)];
    const frames = parseAdts(Buffer.concat(a));
    expect(frames.map((f) => f.length)).toEqual([17, 27]);
    const silence = adtsFrame(3, 9);
    const out = joinAdts({
      plan: {
        preroll: [{ clip: 0, frame: 0 }],
        frames: [{ clip: 0, frame: 1 }, { silence: true }],
        starts: [],
        silentFrames: 1,
      },
      clipFrames: [frames],
      silentFrame: silence,
    });
    expect(parseAdts(out).map((f) => f.length)).toEqual([17, 27, 10]);
  });

  it('refuses bytes that are not ADTS, saying where', () => {
    expect(() => parseAdts(Buffer.concat([adtsFrame(4), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]))).toThrow(
      'ADTS: no sync word at byte 11',
    );
  });
});

describe('adtsHeader', () => {
  it('writes the header ffmpeg writes for AAC-LC 48 kHz stereo, and refuses what ADTS cannot say', () => {
    expect([
      ...adtsHeader({ objectType: 2, sampleRate: 48000, channelConfig: 2, payloadBytes: 10 })!,
    ]).toEqual([...adtsFrame(10).subarray(0, 7)]);
    expect(
      adtsHeader({ objectType: 2, sampleRate: 12345, channelConfig: 2, payloadBytes: 10 }),
    ).toBeUndefined();
    expect(
      adtsHeader({ objectType: 2, sampleRate: 48000, channelConfig: 0, payloadBytes: 10 }),
    ).toBeUndefined();
    expect(
      adtsHeader({ objectType: 5, sampleRate: 48000, channelConfig: 2, payloadBytes: 10 }),
    ).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { compareClips, describeDifference, planMerge } from './compare.ts';
import type { AudioParams, ClipProbe, VideoParams } from './probe.ts';

const V: VideoParams = {
  index: 0,
  codec: 'h264',
  profile: 'High',
  level: 31,
  width: 1280,
  height: 720,
  pixFmt: 'yuv420p',
  sar: '1:1',
  frameRate: '30/1',
  timeBase: '1/15360',
  extradata: '0164001fffe1001a6764001facd94050',
  durationSec: 4,
  startSec: 0,
  color: { primaries: 'unknown', transfer: 'unknown', space: 'unknown', range: 'unknown' },
};
const A: AudioParams = {
  index: 1,
  codec: 'aac',
  profile: 'LC',
  sampleRate: 48000,
  channels: 2,
  channelLayout: 'stereo',
  timeBase: '1/48000',
  extradata: '1190',
  aac: { objectType: 2, sampleRate: 48000, channelConfig: 2 },
  durationSec: 4,
  primingSamples: 1024,
  leadSamples: 0,
  frameSamples: 1024,
};

function clip(
  index: number,
  opts: { video?: Partial<VideoParams>; audio?: Partial<AudioParams> | null; streams?: string[] } = {},
): ClipProbe {
  const video = { ...V, ...opts.video };
  const audio = opts.audio === null ? undefined : { ...A, ...opts.audio };
  return {
    index,
    label: `clips[${index}]`,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    durationSec: video.durationSec,
    streams: opts.streams ?? (audio ? ['video', 'audio'] : ['video']),
    video,
    ...(audio ? { audio } : {}),
  };
}

describe('compareClips', () => {
  it('finds nothing to say about identical clips', () => {
    const c = compareClips([clip(0), clip(1), clip(2)]);
    expect(c.differences).toEqual([]);
    expect(c.reference.video?.width).toBe(1280);
  });

  it.each([
    ['video.codec', { video: { codec: 'hevc' } }, 'h264', 'hevc'],
    ['video.profile', { video: { profile: 'Main' } }, 'High', 'Main'],
    ['video.level', { video: { level: 40 } }, '31', '40'],
    ['video.width', { video: { width: 640 } }, '1280', '640'],
    ['video.height', { video: { height: 480 } }, '720', '480'],
    ['video.pixFmt', { video: { pixFmt: 'yuv444p' } }, 'yuv420p', 'yuv444p'],
    ['video.sar', { video: { sar: '4:3' } }, '1:1', '4:3'],
    ['video.frameRate', { video: { frameRate: '25/1' } }, '30/1', '25/1'],
    ['video.timeBase', { video: { timeBase: '1/90000' } }, '1/15360', '1/90000'],
    [
      'video.extradata',
      { video: { extradata: '0164001fffe1001a6764001facd94051' } },
      V.extradata,
      '0164001fffe1001a6764001facd94051',
    ],
    ['audio.codec', { audio: { codec: 'mp3', aac: undefined, extradata: '' } }, 'aac', 'mp3'],
    ['audio.sampleRate', { audio: { sampleRate: 44100 } }, '48000', '44100'],
    ['audio.channels', { audio: { channels: 1, channelLayout: 'mono' } }, '2', '1'],
    ['audio.channelLayout', { audio: { channelLayout: '2.1' } }, 'stereo', '2.1'],
    ['audio.timeBase', { audio: { timeBase: '1/44100' } }, '1/48000', '1/44100'],
    [
      'audio.extradata',
      { audio: { aac: { objectType: 5, sampleRate: 48000, channelConfig: 2 } } },
      'aot 2, 48000 Hz, channel config 2',
      'aot 5, 48000 Hz, channel config 2',
    ],
  ] as const)('names %s when one clip differs in it', (field, change, expected, actual) => {
    const odd = clip(1, change as Parameters<typeof clip>[1]);
    const c = compareClips([clip(0), odd, clip(2)]);
    const mine = c.differences.filter((d) => d.field === field);
    expect(mine).toEqual([{ clip: 1, label: 'clips[1]', field, expected, actual }]);
    expect(c.differences.every((d) => d.clip === 1)).toBe(true);
  });

  it('does not count AAC configurations that say the same thing in different bytes as a difference', () => {
    const c = compareClips([clip(0), clip(1, { audio: { extradata: '119056e500' } })]);
    expect(c.differences).toEqual([]);
  });

  it('names a clip without sound and a clip whose streams are in another order', () => {
    const c = compareClips([
      clip(0),
      clip(1, { audio: null }),
      clip(2, { streams: ['audio', 'video'], video: { index: 1 }, audio: { index: 0 } }),
    ]);
    expect(c.differences.map(describeDifference)).toEqual([
      "clips[1]: streams are [video], the majority's are [video, audio]",
      'clips[1]: has no audio stream',
      "clips[2]: streams are [audio, video], the majority's are [video, audio]",
    ]);
  });

  it('takes the parameters with the most seconds as the majority, so the least is re-encoded', () => {
    const c = compareClips([
      clip(0, { video: { width: 640, durationSec: 2 } }),
      clip(1, { video: { width: 640, durationSec: 2 } }),
      clip(2, { video: { durationSec: 10 } }),
    ]);
    expect(c.reference.video?.width).toBe(1280);
    expect(c.differences.map((d) => d.clip)).toEqual([0, 1]);
  });

  it('describes every difference on one line naming the clip', () => {
    const c = compareClips([clip(0), clip(1, { video: { width: 640 } })]);
    expect(describeDifference(c.differences[0]!)).toBe("clips[1]: width is 640, the majority's is 1280");
  });
});

describe('planMerge', () => {
  it('joins matching clips by stream copy, filling a clip without sound with silence', () => {
    const plan = planMerge({ probes: [clip(0), clip(1, { audio: null }), clip(2)] });
    expect(plan.mode).toBe('copy');
    expect(plan.clips.map((c) => [c.video, c.audio, c.remux])).toEqual([
      ['copy', 'copy', false],
      ['copy', 'silence', false],
      ['copy', 'copy', false],
    ]);
    expect(plan.needsReproductionCheck).toBe(false);
  });

  it('asks whether the majority H.264 headers can be reproduced before re-encoding only the odd clip', () => {
    const probes = [clip(0), clip(1, { video: { width: 640, height: 360 } }), clip(2)];
    const first = planMerge({ probes });
    expect(first.needsReproductionCheck).toBe(true);
    expect(first.video).toMatchObject({
      width: 1280,
      height: 720,
      frameRate: '30/1',
      timescale: 15360,
      extradata: V.extradata,
    });
    const plan = planMerge({ probes, videoReproducible: true });
    expect(plan.mode).toBe('normalise');
    expect(plan.clips.map((c) => c.video)).toEqual(['copy', 'encode', 'copy']);
    expect(plan.clips[1]!.reasons).toEqual([
      "clips[1]: width is 640, the majority's is 1280",
      "clips[1]: height is 360, the majority's is 720",
    ]);
  });

  it('re-encodes every picture when the majority headers cannot be reproduced, and says why', () => {
    const plan = planMerge({
      probes: [clip(0), clip(1, { video: { width: 640 } })],
      videoReproducible: false,
    });
    expect(plan.clips.map((c) => c.video)).toEqual(['encode', 'encode']);
    expect(plan.video.extradata).toBeUndefined();
    expect(plan.clips[0]!.reasons[0]).toMatch(/cannot reproduce the other clips' H.264 headers/);
  });

  it('re-encodes every picture to H.264 High with square pixels when the majority is not web-ready', () => {
    const plan = planMerge({
      probes: [
        clip(0, { video: { codec: 'hevc', profile: 'Main', sar: '4:3', width: 1440, height: 1080 } }),
        clip(1, { video: { codec: 'hevc', profile: 'Main', sar: '4:3', width: 1440, height: 1080 } }),
      ],
    });
    expect(plan.needsReproductionCheck).toBe(false);
    expect(plan.clips.map((c) => c.video)).toEqual(['encode', 'encode']);
    expect(plan.video).toMatchObject({ width: 1920, height: 1080, profile: 'high' });
    expect(plan.clips[0]!.reasons[0]).toMatch(/not web-ready/);
  });

  it('re-encodes only the sound of a clip whose audio differs, keeping its picture', () => {
    const plan = planMerge({
      probes: [
        clip(0),
        clip(1, {
          audio: {
            sampleRate: 44100,
            timeBase: '1/44100',
            aac: { objectType: 2, sampleRate: 44100, channelConfig: 2 },
          },
        }),
        clip(2),
      ],
    });
    expect(plan.mode).toBe('normalise');
    expect(plan.clips[1]).toMatchObject({ video: 'copy', audio: 'encode', remux: false });
    expect(plan.audio).toEqual({ sampleRate: 48000, channels: 2, channelLayout: 'stereo' });
  });

  it('re-encodes all sound to AAC-LC 48 kHz stereo when the majority is not AAC-LC', () => {
    const mp3 = {
      codec: 'mp3',
      profile: undefined,
      aac: undefined,
      extradata: '',
      sampleRate: 44100,
      timeBase: '1/44100',
    };
    const plan = planMerge({
      probes: [clip(0, { audio: mp3 }), clip(1, { audio: mp3 }), clip(2, { audio: null })],
    });
    expect(plan.clips.map((c) => c.audio)).toEqual(['encode', 'encode', 'silence']);
    expect(plan.audio).toEqual({ sampleRate: 48000, channels: 2, channelLayout: 'stereo' });
  });

  it('rewrites, without re-encoding, a clip whose picture is not the first stream', () => {
    const plan = planMerge({
      probes: [clip(0), clip(1, { streams: ['audio', 'video'], video: { index: 1 }, audio: { index: 0 } })],
    });
    expect(plan.clips[1]).toMatchObject({ video: 'copy', audio: 'copy', remux: true });
    expect(plan.mode).toBe('normalise');
  });

  it('gives clips that are all silent a delivery silence track', () => {
    const plan = planMerge({ probes: [clip(0, { audio: null }), clip(1, { audio: null })] });
    expect(plan.mode).toBe('copy');
    expect(plan.clips.map((c) => c.audio)).toEqual(['silence', 'silence']);
    expect(plan.audio.sampleRate).toBe(48000);
  });
});

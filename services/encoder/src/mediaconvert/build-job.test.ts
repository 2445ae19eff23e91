import { describe, expect, it } from 'vitest';
import { Timeline, type TimelineInput } from '@reelbus/contracts';
import { isPermanent } from '@reelbus/kit';
import { storyTimelineInput } from '../testing.ts';
import {
  buildMediaConvertJob,
  estimateMediaConvertCostUsd,
  overlaySources,
  planMediaConvert,
  splitOutputUrl,
  toTimecode,
} from './build-job.ts';

const story = (over: Partial<Parameters<typeof storyTimelineInput>[0]> = {}) =>
  Timeline.parse(
    storyTimelineInput({
      voiceKey: 'jobs/s1/audio/voice.m4a',
      musicKey: 'music/family/Easy-Day/Easy-Day-60s.mp3',
      imageKeys: ['jobs/s1/images/0.png', 'jobs/s1/images/1.png'],
      logoKey: 'brand/logo.png',
      ...over,
    }),
  );

/** Every input the plan needs, as s3:// URLs. */
function inputsFor(t: Timeline): Record<string, string> {
  const plan = planMediaConvert({ timeline: t });
  const urls: Record<string, string> = {};
  for (const s of overlaySources(plan)) urls[s.id] = `s3://bucket/jobs/s1/encode/mediaconvert/${s.id}.png`;
  for (const a of t.audio) urls[a.source.key] = `s3://bucket/${a.source.key}`;
  return urls;
}

const build = (t: Timeline, allowDegradation?: boolean) =>
  buildMediaConvertJob({
    timeline: t,
    inputs: inputsFor(t),
    output: 's3://bucket/jobs/s1/final.mp4',
    role: 'arn:aws:iam::123456789012:role/MediaConvertRole',
    queue: 'Default',
    ...(allowDegradation !== undefined ? { allowDegradation } : {}),
  });

describe('buildMediaConvertJob', () => {
  it('mixes voice and music with the proven 2-in/2-out remix whose music fine-tune follows gainDb', () => {
    const { job } = build(story({ musicGainDb: -22 }));
    const input = job.Settings!.Inputs![0]!;
    expect(input.AudioSelectors!['Audio Selector 1']).toMatchObject({
      ExternalAudioFileInput: 's3://bucket/jobs/s1/audio/voice.m4a',
      Offset: 3000, // the voice starts after the 3 s intro
      DefaultSelection: 'DEFAULT',
    });
    expect(input.AudioSelectors!['Audio Selector 2']).toMatchObject({
      ExternalAudioFileInput: 's3://bucket/music/family/Easy-Day/Easy-Day-60s.mp3',
      Offset: 0,
    });
    expect(input.AudioSelectorGroups).toEqual({
      'Audio Selector Group 1': { AudioSelectorNames: ['Audio Selector 1', 'Audio Selector 2'] },
    });
    const audio = job.Settings!.OutputGroups![0]!.Outputs![0]!.AudioDescriptions![0]!;
    expect(audio.AudioSourceName).toBe('Audio Selector Group 1');
    expect(audio.RemixSettings).toEqual({
      ChannelMapping: {
        OutputChannels: [{ InputChannelsFineTune: [0, -22] }, { InputChannelsFineTune: [0, -22] }],
      },
      ChannelsIn: 2,
      ChannelsOut: 2,
    });
    expect(audio.CodecSettings).toEqual({
      Codec: 'AAC',
      AacSettings: {
        Bitrate: 128000,
        RateControlMode: 'CBR',
        CodecProfile: 'LC',
        CodingMode: 'CODING_MODE_2_0',
        SampleRate: 48000,
      },
    });
  });

  it('writes an iOS-ready 1080p H.264 High CBR MP4 at the exact final key with zero-based timecodes', () => {
    const { job } = build(story());
    const group = job.Settings!.OutputGroups![0]!;
    const out = group.Outputs![0]!;
    expect(group.OutputGroupSettings!.FileGroupSettings!.Destination! + out.NameModifier! + '.mp4').toBe(
      's3://bucket/jobs/s1/final.mp4',
    );
    expect(out.NameModifier!.length).toBeGreaterThan(0);
    expect(out.ContainerSettings).toEqual({
      Container: 'MP4',
      Mp4Settings: { CslgAtom: 'INCLUDE', FreeSpaceBox: 'EXCLUDE', MoovPlacement: 'PROGRESSIVE_DOWNLOAD' },
    });
    const v = out.VideoDescription!;
    expect([v.Width, v.Height]).toEqual([1920, 1080]);
    expect(v.CodecSettings!.H264Settings).toMatchObject({
      RateControlMode: 'CBR',
      Bitrate: 3_000_000,
      CodecProfile: 'HIGH',
      FramerateNumerator: 30,
      FramerateDenominator: 1,
    });
    expect(job.Settings!.TimecodeConfig).toEqual({ Source: 'ZEROBASED' });
    expect(job.Settings!.Inputs![0]!.TimecodeSource).toBe('ZEROBASED');
    expect(job.Role).toBe('arn:aws:iam::123456789012:role/MediaConvertRole');
    expect(job.Queue).toBe('Default');
  });

  it('makes the full-length background the generated base picture and every other picture an ImageInserter layer', () => {
    const t = story();
    const { job } = build(t);
    const gen = job.Settings!.Inputs![0]!.VideoGenerator!;
    expect(gen).toMatchObject({ Duration: 11_000, Width: 1920, Height: 1080, FramerateNumerator: 30 });
    expect(gen.ImageInput).toBe('s3://bucket/jobs/s1/encode/mediaconvert/base.png');
    const images =
      job.Settings!.OutputGroups![0]!.Outputs![0]!.VideoDescription!.VideoPreprocessors!.ImageInserter!
        .InsertableImages!;
    // 2 story images + intro logo + corner logo + outro logo
    expect(images).toHaveLength(5);
    const [img0, img1, intro, corner, outro] = images;
    expect(img0).toMatchObject({
      StartTime: '00:00:03:00',
      ImageX: 0,
      ImageY: 0,
      Width: 1920,
      Height: 1080,
      Opacity: 100,
    });
    // second image: starts at 6 s, fades in 0.5 s; Duration counts the fade-in but not the fade-out
    expect(img1).toMatchObject({ StartTime: '00:00:06:00', FadeIn: 500, FadeOut: 500, Duration: 2500 });
    expect(intro).toMatchObject({
      StartTime: '00:00:00:00',
      ImageX: 660,
      ImageY: 240,
      Width: 600,
      Height: 600,
    });
    expect(corner).toMatchObject({
      StartTime: '00:00:03:00',
      Opacity: 80,
      ImageX: 1700,
      ImageY: 880,
      Duration: 6000,
    });
    expect(outro).toMatchObject({ StartTime: '00:00:09:00', FadeIn: 300 });
    // later tracks draw over earlier ones
    const layers = images.map((i) => i.Layer!);
    expect([...layers].sort((a, b) => a - b)).toEqual(layers);
    expect(new Set(layers).size).toBe(layers.length);
    for (const i of images) expect(i.StartTime).toMatch(/^\d\d:\d\d:\d\d:\d\d$/);
  });

  it('refuses Ken Burns, text, extra video and ducking, naming each with its Timeline path', () => {
    const input = storyTimelineInput({
      voiceKey: 'v.m4a',
      musicKey: 'm.mp3',
      imageKeys: ['a.png', 'b.png'],
      logoKey: 'logo.png',
      motion: true,
    }) as TimelineInput & {
      tracks: NonNullable<TimelineInput['tracks']>;
      audio: NonNullable<TimelineInput['audio']>;
    };
    input.tracks.push({
      clips: [
        { type: 'text', text: 'Hello', start: 1, duration: 2 },
        { type: 'video', source: { key: 'c.mp4' }, start: 4, duration: 2 },
      ],
    });
    input.audio[1] = { ...input.audio[1]!, duck: { under: 'voice' } };
    const t = Timeline.parse(input);
    let err: unknown;
    try {
      build(t);
    } catch (e) {
      err = e;
    }
    expect(isPermanent(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('tracks[1].clips[0].motion: Ken Burns motion');
    expect(msg).toContain('tracks[1].clips[1].motion: Ken Burns motion');
    expect(msg).toContain('tracks[3].clips[0]: a text clip');
    expect(msg).toContain('tracks[3].clips[1]: a video clip');
    expect(msg).toContain('audio[1].duck: ducking');
    expect(msg).toMatch(/allowDegradation/);
  });

  it('drops what it cannot express and lists each as a warning when the Timeline allows degradation', () => {
    const t = story({ motion: true, allowDegradation: true });
    const { job, warnings } = build(t);
    expect(warnings).toEqual([
      'tracks[1].clips[0].motion: Ken Burns motion (ImageInserter images are still) is not supported by MediaConvert; dropped',
      'tracks[1].clips[1].motion: Ken Burns motion (ImageInserter images are still) is not supported by MediaConvert; dropped',
    ]);
    // the images are still shown, still
    expect(
      job.Settings!.OutputGroups![0]!.Outputs![0]!.VideoDescription!.VideoPreprocessors!.ImageInserter!
        .InsertableImages,
    ).toHaveLength(5);
  });

  it('uses a full-length, full-frame first video clip as the input file', () => {
    const t = Timeline.parse({
      version: 1,
      output: { width: 1920, height: 1080 },
      tracks: [
        { clips: [{ type: 'video', source: { key: 'jobs/v/base.mp4' }, start: 0, duration: 5, volume: 0 }] },
      ],
      audio: [{ name: 'voice', source: { key: 'jobs/v/voice.wav' } }],
    });
    const { job } = buildMediaConvertJob({
      timeline: t,
      inputs: { 'jobs/v/base.mp4': 's3://b/jobs/v/base.mp4', 'jobs/v/voice.wav': 's3://b/jobs/v/voice.wav' },
      output: 's3://b/jobs/v/final.mp4',
      role: 'arn:aws:iam::123456789012:role/R',
    });
    const input = job.Settings!.Inputs![0]!;
    expect(input.FileInput).toBe('s3://b/jobs/v/base.mp4');
    expect(input.VideoGenerator).toBeUndefined();
    expect(job.Settings!.OutputGroups![0]!.Outputs![0]!.AudioDescriptions![0]!.AudioSourceName).toBe(
      'Audio Selector 1',
    );
  });
});

describe('buildMediaConvertJob and the newer Timeline features', () => {
  const job = (t: TimelineInput) => {
    const timeline = Timeline.parse(t);
    const videos = timeline.tracks.flatMap((tr) =>
      tr.clips.flatMap((c) => (c.type === 'video' ? [c.source.key] : [])),
    );
    return buildMediaConvertJob({
      timeline,
      inputs: { ...inputsFor(timeline), ...Object.fromEntries(videos.map((k) => [k, `s3://bucket/${k}`])) },
      output: 's3://bucket/jobs/s1/final.mp4',
      role: 'arn:aws:iam::123456789012:role/MediaConvertRole',
    });
  };
  const refusal = (t: TimelineInput) => {
    try {
      job(t);
    } catch (err) {
      expect(isPermanent(err)).toBe(true);
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  };
  const base: TimelineInput = {
    version: 1,
    output: { width: 1920, height: 1080 },
    tracks: [
      {
        clips: [
          {
            type: 'image',
            source: { key: 'a.png' },
            start: 0,
            duration: 3,
            transition: { type: 'wipeleft', duration: 1 },
          },
          { type: 'image', source: { key: 'b.png' }, start: 2, duration: 3, elapsed: 1.5 },
          {
            type: 'waveform',
            track: 'voice',
            start: 0,
            duration: 5,
            position: { anchor: 'bottom', scale: 0.2 },
          },
        ],
      },
    ],
    audio: [{ name: 'voice', source: { key: 'voice.wav' } }],
  };

  it('refuses transitions, continued clips, waveforms and a poster, one by one with their paths', () => {
    const msg = refusal({ ...base, output: { ...base.output, poster: true, formats: ['mp4', 'hls'] } });
    expect(msg).toContain(
      'tracks[0].clips[0].transition: a wipeleft transition (image layers only cut or fade)',
    );
    expect(msg).toContain('tracks[0].clips[1].elapsed: a clip continued part-way through (elapsed)');
    expect(msg).toContain('tracks[0].clips[2]: a waveform clip (MediaConvert draws no audio visualiser)');
    expect(msg).toContain('output.poster: a poster frame');
    expect(msg).not.toContain('output.formats');
  });

  it('accepts formats ["mp4","hls"] without a warning and asks MediaConvert for the MP4 only (the encoder packages HLS)', () => {
    const still: TimelineInput = {
      version: 1,
      output: { width: 1280, height: 720, formats: ['mp4', 'hls'] },
      tracks: [{ clips: [{ type: 'image', source: { key: 'a.png' }, start: 0, duration: 3 }] }],
    };
    const hls = job(still);
    expect(hls.warnings).toEqual([]);
    const groups = hls.job.Settings!.OutputGroups!;
    expect(groups).toHaveLength(1);
    expect(groups[0]!.OutputGroupSettings!.Type).toBe('FILE_GROUP_SETTINGS');
    expect(groups[0]!.Outputs!.map((o) => o.ContainerSettings!.Container)).toEqual(['MP4']);
    // the same job as without HLS
    expect(hls.job).toEqual(job({ ...still, output: { width: 1280, height: 720 } }).job);
  });

  it('drops each of them with a warning under allowDegradation, keeping the pictures as layers', () => {
    const { warnings, job: j } = job({
      ...base,
      allowDegradation: true,
      output: { ...base.output, poster: true },
    });
    expect(warnings).toEqual([
      'tracks[0].clips[0].transition: a wipeleft transition (image layers only cut or fade) is not supported by MediaConvert; dropped',
      'tracks[0].clips[1].elapsed: a clip continued part-way through (elapsed) is not supported by MediaConvert; dropped',
      'output.poster: a poster frame (the ffmpeg backend writes jobs/<id>/poster.jpg) is not supported by MediaConvert; dropped',
      'tracks[0].clips[2]: a waveform clip (MediaConvert draws no audio visualiser) is not supported by MediaConvert; dropped',
    ]);
    const images =
      j.Settings!.OutputGroups![0]!.Outputs![0]!.VideoDescription!.VideoPreprocessors!.ImageInserter!
        .InsertableImages!;
    expect(images.map((i) => [i.StartTime, i.Duration])).toEqual([
      ['00:00:00:00', 3000],
      ['00:00:02:00', 3000],
    ]);
  });

  it("plays a base video's own sound only as recorded and alone", () => {
    const video = (volume: number, audio: TimelineInput['audio'] = []): TimelineInput => ({
      version: 1,
      tracks: [{ clips: [{ type: 'video', source: { key: 'v.mp4' }, start: 0, duration: 5, volume }] }],
      audio,
    });
    expect(() => job(video(1))).not.toThrow();
    expect(job(video(1)).job.Settings!.Inputs![0]!.AudioSelectors!['Audio Selector 1']).toEqual({
      DefaultSelection: 'DEFAULT',
      SelectorType: 'TRACK',
      Tracks: [1],
    });
    expect(refusal(video(0.5))).toContain(
      "tracks[0].clips[0].volume: a volume other than 0 or 1 on a video's own sound",
    );
    expect(refusal(video(0))).toContain(
      "tracks[0].clips[0].volume: muting a video's own sound without an audio track",
    );
    expect(refusal(video(1, [{ name: 'voice', source: { key: 'voice.wav' } }]))).toContain(
      "tracks[0].clips[0].volume: mixing a video's own sound with audio tracks (set volume 0)",
    );
  });

  it('places named positions through resolvePosition and renders a preview at its own size and rate', () => {
    const { job: j, plan } = job({
      version: 1,
      output: { width: 1920, height: 1080, fps: 30, preset: 'preview' },
      tracks: [
        {
          clips: [
            {
              type: 'image',
              source: { key: 'logo.png' },
              start: 1,
              duration: 3,
              position: { anchor: 'topRight', scale: 0.1, offset: { x: -20, y: 20 } },
            },
          ],
        },
      ],
      audio: [{ name: 'voice', source: { key: 'voice.wav' } }],
    });
    expect([plan.width, plan.height, plan.fps]).toEqual([854, 480, 15]);
    // 192×108 at (1708, 20) in 1920×1080, scaled by 480/1080
    expect(plan.overlays[0]).toMatchObject({ x: 759, y: 9, start: 1 });
    const out = j.Settings!.OutputGroups![0]!.Outputs![0]!.VideoDescription!;
    expect([out.Width, out.Height, out.CodecSettings!.H264Settings!.FramerateNumerator]).toEqual([
      854, 480, 15,
    ]);
  });
});

describe('MediaConvert helpers', () => {
  it('writes timecodes as HH:MM:SS:FF at the output frame rate', () => {
    expect(toTimecode({ seconds: 0, fps: 30 })).toBe('00:00:00:00');
    expect(toTimecode({ seconds: 3.5, fps: 30 })).toBe('00:00:03:15');
    expect(toTimecode({ seconds: 3725.04, fps: 25 })).toBe('01:02:05:01');
  });

  it('splits the output URL so Destination + NameModifier is exactly the final key', () => {
    expect(splitOutputUrl('s3://b/jobs/j1/final.mp4')).toEqual({
      destination: 's3://b/jobs/j1/fina',
      nameModifier: 'l',
    });
    expect(() => splitOutputUrl('/local/final.mp4')).toThrow(/s3:\/\//);
  });

  it('estimates cost with the reference formula: started minutes × per-minute price + images × per-image price', () => {
    // 2 min 30 s of HD with 5 images: 3 × 0.015 + 5 × 0.001
    expect(estimateMediaConvertCostUsd({ durationSec: 150, imageCount: 5, height: 1080 })).toBeCloseTo(
      0.05,
      6,
    );
    expect(estimateMediaConvertCostUsd({ durationSec: 60, imageCount: 0, height: 2160 })).toBeCloseTo(
      0.03,
      6,
    );
    expect(
      estimateMediaConvertCostUsd({
        durationSec: 61,
        imageCount: 1,
        height: 480,
        rates: { perMinuteSdUsd: 0.01, perMinuteHdUsd: 1, perMinuteUhdUsd: 1, perImageUsd: 0.5 },
      }),
    ).toBeCloseTo(0.52, 6);
  });
});

import { describe, expect, it } from 'vitest';
import { hexFromDump, parseAacConfig, parseClipProbe } from './probe.ts';

const raw = {
  packets: [
    { stream_index: 1, pts: -1024, dts: -1024, duration: 1024 },
    { stream_index: 0, pts: 0, dts: -1024, duration: 512 },
  ],
  streams: [
    {
      index: 0,
      codec_name: 'h264',
      profile: 'High',
      codec_type: 'video',
      width: 1280,
      height: 720,
      sample_aspect_ratio: '1:1',
      pix_fmt: 'yuv420p',
      level: 31,
      r_frame_rate: '30/1',
      avg_frame_rate: '30/1',
      time_base: '1/15360',
      start_time: '0.000000',
      duration: '8.000000',
      nb_frames: '240',
      extradata:
        '\n00000000: 0164 001f ffe1 001a 6764 001f acd9 4050  .d......gd....@P\n00000010: 05bb 01                                  ...\n',
    },
    {
      index: 1,
      codec_name: 'aac',
      profile: 'LC',
      codec_type: 'audio',
      sample_rate: '48000',
      channels: 2,
      channel_layout: 'stereo',
      time_base: '1/48000',
      duration: '8.000000',
      extradata: '\n00000000: 1190 56e5 00                             ..V..\n',
    },
  ],
  format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '8.000000', size: '2128695' },
};

describe('parseClipProbe', () => {
  it('reads what a merge compares from ffprobe JSON, priming included', () => {
    const p = parseClipProbe({ raw, index: 2 });
    expect(p).toMatchObject({
      index: 2,
      label: 'clips[2]',
      durationSec: 8,
      sizeBytes: 2128695,
      streams: ['video', 'audio'],
    });
    expect(p.video).toMatchObject({
      codec: 'h264',
      profile: 'High',
      level: 31,
      width: 1280,
      sar: '1:1',
      frameRate: '30/1',
      timeBase: '1/15360',
      extradata: '0164001fffe1001a6764001facd9405005bb01',
      durationSec: 8,
      frames: 240,
    });
    expect(p.audio).toMatchObject({
      codec: 'aac',
      sampleRate: 48000,
      channels: 2,
      primingSamples: 1024,
      leadSamples: 0,
      frameSamples: 1024,
      aac: { objectType: 2, sampleRate: 48000, channelConfig: 2 },
    });
  });

  it('sees audio that starts late as lead, and reduces ratios', () => {
    const late = {
      ...raw,
      packets: [{ stream_index: 1, pts: 24000, duration: 1024 }],
      streams: [
        { ...raw.streams[0]!, sample_aspect_ratio: '32:24', r_frame_rate: '60000/2000' },
        raw.streams[1]!,
      ],
    };
    const p = parseClipProbe({ raw: late, index: 0 });
    expect(p.audio).toMatchObject({ primingSamples: 0, leadSamples: 24000 });
    expect(p.video).toMatchObject({ sar: '4:3', frameRate: '30/1' });
  });

  it('turns a hex dump into hex and reads AudioSpecificConfigs', () => {
    expect(hexFromDump('\n00000000: 0142 c00d ffe1  .B..\n')).toBe('0142c00dffe1');
    expect(parseAacConfig('1190')).toEqual({ objectType: 2, sampleRate: 48000, channelConfig: 2 });
    expect(parseAacConfig('1210')).toEqual({ objectType: 2, sampleRate: 44100, channelConfig: 2 });
    expect(parseAacConfig('')).toBeUndefined();
  });
});

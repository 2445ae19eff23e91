import { describe, expect, it } from 'vitest';
import {
  conventionalRetention,
  effectiveRetention,
  formatTtl,
  jobIdOfKey,
  parseTtl,
  retentionTagging,
} from './retention.ts';

describe('conventionalRetention: what a job blob is when its writer does not say', () => {
  it.each([
    ['jobs/j1/final.mp4', 'output'],
    ['jobs/j1/final-audio.m4a', 'output'],
    ['jobs/j1/poster.jpg', 'output'],
    ['jobs/j1/hls/master.m3u8', 'output'],
    ['jobs/j1/hls/720p/seg-00001.ts', 'output'],
    ['jobs/j1/generate/video.mp4', 'output'],
    ['jobs/j1/generate/poster.jpg', 'output'],
    ['jobs/j1/input/recording.wav', 'intermediate'],
    ['jobs/j1/input/clip-000.mp4', 'intermediate'],
    ['jobs/j1/split/caller.wav', 'intermediate'],
    ['jobs/j1/clips/callee.mp4', 'intermediate'],
    ['jobs/j1/images/0.jpg', 'intermediate'],
    ['jobs/j1/audio/voice.flac', 'intermediate'],
    ['jobs/j1/chunks/chunk-0003.mp4', 'intermediate'],
    ['jobs/j1/brand/logo.png', 'intermediate'],
    ['jobs/j1/encode/mediaconvert/submitted.json', 'intermediate'],
    ['jobs/j1/generate/nested/file.png', 'intermediate'],
    ['jobs/j1/finalists/a.mp4', 'intermediate'],
  ] as const)('%s → %s', (key, expected) => {
    expect(conventionalRetention(key)).toBe(expected);
  });

  it.each(['music/family/Easy-Day/Easy-Day-30s.mp3', 'brand/logo.png', 'projects/p1/voice/s1.mp3', 'jobs/'])(
    '%s belongs to no job: undefined (never swept)',
    (key) => {
      expect(conventionalRetention(key)).toBeUndefined();
    },
  );

  it("a writer's class wins over the name's", () => {
    expect(effectiveRetention('jobs/j1/clips/caller.mp4', 'output')).toBe('output');
    expect(effectiveRetention('jobs/j1/generate/caller-face.png', 'intermediate')).toBe('intermediate');
    expect(effectiveRetention('jobs/j1/final.mp4', undefined)).toBe('output');
  });

  it('finds the job of a key, and the S3 tag of a class', () => {
    expect(jobIdOfKey('jobs/job_01J/split/caller.wav')).toBe('job_01J');
    expect(jobIdOfKey('music/a.mp3')).toBeUndefined();
    expect(retentionTagging('intermediate')).toBe('reelbus-retention=intermediate');
  });
});

describe('parseTtl / formatTtl', () => {
  it.each([
    ['0', 0],
    ['7d', 7 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['90m', 90 * 60_000],
    ['30s', 30_000],
    ['500ms', 500],
    ['2w', 14 * 86_400_000],
    ['1.5d', 36 * 3_600_000],
    [' 7D ', 7 * 86_400_000],
    ['never', undefined],
  ] as const)('%s → %s ms', (text, ms) => {
    expect(parseTtl(text)).toBe(ms);
  });

  it.each(['7', 'seven days', '-1d', '1y', ''])('refuses "%s", saying what is accepted', (text) => {
    expect(() => parseTtl(text)).toThrow(/0, never, or a number with a unit \(ms, s, m, h, d, w\)/);
  });

  it('writes a TTL in the largest unit that divides it', () => {
    expect(formatTtl(7 * 86_400_000)).toBe('1w');
    expect(formatTtl(3 * 86_400_000)).toBe('3d');
    expect(formatTtl(90 * 60_000)).toBe('90m');
    expect(formatTtl(2_500)).toBe('2500ms');
    expect(formatTtl(0)).toBe('0');
    expect(formatTtl(undefined)).toBe('never');
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@reelbus/kit';
import { EncoderEnv, mediaConvertEnabled, mediaConvertRates } from './config.ts';

const problems = (env: Record<string, string>) => {
  try {
    parseConfig(EncoderEnv, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('EncoderEnv', () => {
  it('defaults to ffmpeg with MediaConvert off and the reference prices', () => {
    const c = parseConfig(EncoderEnv, {});
    expect(c.ENCODER_BACKEND).toBe('ffmpeg');
    // two spans of a long Timeline at once: both cores of a 2-core machine
    expect([c.CHUNK_THRESHOLD_SEC, c.CHUNK_SECONDS, c.CHUNK_CONCURRENCY]).toEqual([90, 30, 2]);
    expect(mediaConvertEnabled(c)).toBe(false);
    expect(mediaConvertRates(c)).toMatchObject({ perMinuteHdUsd: 0.015, perImageUsd: 0.001 });
  });

  it('names the role and region as missing when ENCODER_BACKEND=mediaconvert', () => {
    expect(problems({ ENCODER_BACKEND: 'mediaconvert' })).toEqual([
      'MEDIACONVERT_ROLE_ARN: is required when ENCODER_BACKEND=mediaconvert (not set)',
      'AWS_REGION: is required for the mediaconvert backend (not set)',
    ]);
  });

  it('rejects a role that is not an IAM role ARN and an endpoint that is not a URL', () => {
    const p = problems({
      MEDIACONVERT_ROLE_ARN: 'MediaConvertRole',
      MEDIACONVERT_ENDPOINT: 'mediaconvert.local',
      AWS_REGION: 'us-east-2',
    });
    expect(p.some((l) => l.startsWith('MEDIACONVERT_ROLE_ARN: must be an IAM role ARN'))).toBe(true);
    expect(p.some((l) => l.startsWith('MEDIACONVERT_ENDPOINT: must be a http/https URL'))).toBe(true);
  });

  it('enables MediaConvert for jobs that ask for it when its role is set, keeping ffmpeg the default', () => {
    const c = parseConfig(EncoderEnv, {
      MEDIACONVERT_ROLE_ARN: 'arn:aws:iam::596430611773:role/MediaConvertRole',
      AWS_REGION: 'us-east-2',
      MEDIACONVERT_PRICE_PER_MINUTE_HD_USD: '0.02',
    });
    expect(c.ENCODER_BACKEND).toBe('ffmpeg');
    expect(mediaConvertEnabled(c)).toBe(true);
    expect(mediaConvertRates(c).perMinuteHdUsd).toBe(0.02);
  });
});

import { describe, expect, it } from 'vitest';
import { signLink, verifyLink } from './links.ts';
import { parseRange } from './range.ts';

describe('signed links', () => {
  const secret = 'the-link-secret';
  const now = Date.UTC(2025, 0, 1);
  const link = signLink({
    baseUrl: 'https://x.test',
    path: '/v1/jobs/j1/video.mp4',
    secret,
    ttlSec: 60,
    now,
  });
  const q = new URL(link.url).searchParams;
  const check = (over: Partial<Parameters<typeof verifyLink>[0]> = {}) =>
    verifyLink({
      path: '/v1/jobs/j1/video.mp4',
      expires: q.get('expires') ?? undefined,
      signature: q.get('signature') ?? undefined,
      secret,
      now,
      ...over,
    });

  it('verifies for its path until it expires', () => {
    expect(link.expiresAt).toBe(new Date(now + 60_000).toISOString());
    expect(check()).toEqual({ ok: true });
    expect(check({ now: now + 59_000 })).toEqual({ ok: true });
    expect(check({ now: now + 60_000 })).toEqual({ ok: false, reason: 'expired' });
  });

  it('fails for another path, another secret, or a changed expiry', () => {
    expect(check({ path: '/v1/jobs/j2/video.mp4' })).toEqual({ ok: false, reason: 'invalid' });
    expect(check({ secret: 'other' })).toEqual({ ok: false, reason: 'invalid' });
    expect(check({ expires: String(Number(q.get('expires')) + 1) })).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(check({ signature: 'zz' })).toEqual({ ok: false, reason: 'malformed' });
    expect(check({ signature: undefined, expires: undefined })).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('parseRange', () => {
  it('resolves the byte-range forms browsers send', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
  });

  it('says unsatisfiable past the end and ignores what it cannot serve', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange(undefined, 1000)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
    expect(parseRange('items=0-1', 1000)).toBeUndefined();
    expect(parseRange('bytes=50-10', 1000)).toBeUndefined();
  });
});

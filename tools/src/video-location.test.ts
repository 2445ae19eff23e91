import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSize, locationLine, videoLocation } from './video-location.ts';

const key = 'jobs/job_1/final.mp4';
const link = 'https://reelbus.example/v1/jobs/job_1/video.mp4?expires=1&signature=ab';

describe('videoLocation', () => {
  it('gives the local path when this machine holds the very file', () => {
    const sizeOf = (p: string) => (p === '/home/me/.reelbus/blobs/jobs/job_1/final.mp4' ? 1234 : undefined);
    expect(videoLocation({ key, sizeBytes: 1234, blobDir: '/home/me/.reelbus/blobs', link, sizeOf })).toEqual(
      {
        path: '/home/me/.reelbus/blobs/jobs/job_1/final.mp4',
      },
    );
  });

  it('gives the link when the file is not here (another REELBUS_HOME, a remote REELBUS_URL)', () => {
    expect(
      videoLocation({
        key,
        sizeBytes: 1234,
        blobDir: '/home/me/.reelbus/blobs',
        link,
        sizeOf: () => undefined,
      }),
    ).toEqual({
      url: link,
    });
  });

  it('gives the link when a file of that name here is not the same video', () => {
    expect(videoLocation({ key, sizeBytes: 1234, blobDir: '/x', link, sizeOf: () => 99 })).toEqual({
      url: link,
    });
  });

  it('says where the video is when there is neither a file here nor a link', () => {
    expect(
      videoLocation({ key, sizeBytes: 1, blobDir: undefined, link: undefined, sizeOf: () => 1 }),
    ).toEqual({
      none: expect.stringContaining('"jobs/job_1/final.mp4"'),
    });
  });
});

describe('fileSize and locationLine (real files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'video-location-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the real path of a local file, and the link otherwise', () => {
    mkdirSync(join(dir, 'jobs', 'job_1'), { recursive: true });
    writeFileSync(join(dir, key), Buffer.alloc(1234));
    expect(fileSize(join(dir, key))).toBe(1234);
    expect(fileSize(join(dir, 'jobs'))).toBeUndefined();
    expect(fileSize(join(dir, 'missing.mp4'))).toBeUndefined();
    const here = videoLocation({ key, sizeBytes: 1234, blobDir: dir, link, sizeOf: fileSize });
    expect(locationLine(here)).toMatch(/jobs\/job_1\/final\.mp4$/);
    const elsewhere = videoLocation({
      key,
      sizeBytes: 1234,
      blobDir: join(dir, 'other'),
      link,
      sizeOf: fileSize,
    });
    expect(locationLine(elsewhere)).toBe(`link: ${link}`);
  });
});

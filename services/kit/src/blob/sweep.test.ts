import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, LOCAL_S3_CREDENTIALS, type LocalS3 } from '../testing/s3rver.ts';
import { FsBlobStore } from './fs.ts';
import { parseTtl, type RetentionPolicy } from './retention.ts';
import { S3BlobStore } from './s3.ts';
import { deleteJobBlobs, retentionDue, sweepJobBlobs, type RetentionJobView } from './sweep.ts';
import type { BlobStore } from './types.ts';

const ended = '2026-12-01T10:00:00.000Z';
const job = (over: Partial<RetentionJobView> = {}): RetentionJobView => ({
  status: 'completed',
  finishedAt: ended,
  updatedAt: ended,
  ...over,
});
const policy = (intermediate: string, output: string): RetentionPolicy => ({
  intermediateTtlMs: parseTtl(intermediate),
  outputTtlMs: parseTtl(output),
});
const at = (iso: string) => new Date(iso);

describe('retentionDue: which classes of a job are due', () => {
  it.each([
    ['a running job keeps everything', job({ status: 'running' }), policy('0', '0'), ended, []],
    ['a queued job keeps everything', job({ status: 'queued' }), policy('0', '0'), ended, []],
    [
      'a stalled job keeps everything (a retry may resume it)',
      job({ status: 'stalled' }),
      policy('0', '0'),
      ended,
      [],
    ],
    ['TTL 0: intermediates at once', job(), policy('0', 'never'), ended, ['intermediate']],
    ['just before the TTL: nothing', job(), policy('7d', 'never'), '2026-12-08T09:59:59.999Z', []],
    ['at the TTL: intermediates', job(), policy('7d', 'never'), '2026-12-08T10:00:00.000Z', ['intermediate']],
    [
      'outputs never by default, whatever the time',
      job(),
      policy('7d', 'never'),
      '2036-01-01T00:00:00Z',
      ['intermediate'],
    ],
    [
      'both due',
      job({ status: 'failed' }),
      policy('1h', '30d'),
      '2027-01-01T00:00:00Z',
      ['intermediate', 'output'],
    ],
    [
      'a cancelled job counts from its end',
      job({ status: 'cancelled' }),
      policy('1h', 'never'),
      '2026-12-01T11:00:00Z',
      ['intermediate'],
    ],
    [
      'a class already removed is not due again',
      job({ retention: { intermediatesRemovedAt: '2026-12-02T00:00:00.000Z' } }),
      policy('0', '0'),
      '2027-01-01T00:00:00Z',
      ['output'],
    ],
    [
      'a document from before finishedAt counts from its last update',
      job({ finishedAt: undefined, updatedAt: '2026-12-01T12:00:00.000Z' }),
      policy('1h', 'never'),
      '2026-12-01T12:30:00Z',
      [],
    ],
  ] as const)('%s', (_name, j, p, now, expected) => {
    expect(retentionDue({ job: j, policy: p, now: at(now) }).due).toEqual(expected);
  });
});

/** Writes a finished job's blobs: two intermediates, two outputs (one said, one by convention), and another job's blob. */
async function writeJob(blobs: BlobStore, jobId: string): Promise<void> {
  await blobs.put(`jobs/${jobId}/split/caller.wav`, 'a'.repeat(100));
  await blobs.put(`jobs/${jobId}/clips/caller.mp4`, 'b'.repeat(200), { retention: 'intermediate' });
  await blobs.put(`jobs/${jobId}/final.mp4`, 'c'.repeat(300));
  // Said by its writer: an output although its name looks like an intermediate.
  await blobs.put(`jobs/${jobId}/clips/approved.mp4`, 'd'.repeat(400), { retention: 'output' });
  await blobs.put(`jobs/${jobId}0/split/caller.wav`, 'e'.repeat(50));
  await blobs.put('music/bed.mp3', 'f'.repeat(10));
}

function sweepSuite(name: string, makeStore: () => Promise<BlobStore>) {
  describe(`sweepJobBlobs on ${name}`, () => {
    it('removes a finished job’s intermediates after a short TTL, keeps its outputs and every other blob', async () => {
      const blobs = await makeStore();
      const jobId = `sweep${Date.now()}`;
      await writeJob(blobs, jobId);
      const p = policy('50ms', 'never');
      const finished = job({ finishedAt: new Date().toISOString() });

      const early = retentionDue({
        job: finished,
        policy: p,
        now: new Date(Date.parse(finished.finishedAt!) + 10),
      });
      expect(early.due).toEqual([]);
      const late = retentionDue({
        job: finished,
        policy: p,
        now: new Date(Date.parse(finished.finishedAt!) + 50),
      });
      expect(late.due).toEqual(['intermediate']);

      const swept = await sweepJobBlobs({ blobs, jobId, classes: late.due });
      expect(swept).toEqual({
        blobs: 2,
        bytes: 300,
        byClass: { intermediate: { blobs: 2, bytes: 300 }, output: { blobs: 0, bytes: 0 } },
      });
      expect((await blobs.list(`jobs/${jobId}/`)).map((b) => b.key).sort()).toEqual([
        `jobs/${jobId}/clips/approved.mp4`,
        `jobs/${jobId}/final.mp4`,
      ]);
      expect(await blobs.stat(`jobs/${jobId}0/split/caller.wav`)).toMatchObject({ size: 50 });
      expect(await blobs.stat('music/bed.mp3')).toMatchObject({ size: 10 });

      const outputs = await sweepJobBlobs({ blobs, jobId, classes: ['output'] });
      expect(outputs.byClass.output).toEqual({ blobs: 2, bytes: 700 });
      expect(await blobs.list(`jobs/${jobId}/`)).toEqual([]);
    });

    it('deleteJobBlobs removes the whole prefix and nothing else', async () => {
      const blobs = await makeStore();
      const jobId = `del${Date.now()}`;
      await writeJob(blobs, jobId);
      expect(await deleteJobBlobs({ blobs, jobId })).toEqual({ blobs: 4, bytes: 1000 });
      expect(await blobs.list(`jobs/${jobId}/`)).toEqual([]);
      expect(await blobs.stat(`jobs/${jobId}0/split/caller.wav`)).toBeDefined();
    });
  });
}

let dir: string;
let s3: LocalS3 | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-sweep-'));
  s3 = await startLocalS3({ buckets: ['sweep'] });
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

sweepSuite('the filesystem store', async () => new FsBlobStore({ root: dir }));
sweepSuite(
  'the S3 store (local S3 server, tags set at write time)',
  async () =>
    new S3BlobStore({
      bucket: 'sweep',
      region: 'us-east-1',
      endpoint: s3!.endpoint,
      forcePathStyle: true,
      credentials: LOCAL_S3_CREDENTIALS,
      requestTimeoutMs: 10_000,
    }),
);

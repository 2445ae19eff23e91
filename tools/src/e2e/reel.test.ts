// A reel through the real stack (nats-server, notifier, ai-generator, encoder, ingest as processes) with the
// offline local provider: takes generated per section and projected into the reel as they finish (seen on
// the reel's SSE stream), a regenerated take, two reviewers racing to approve different takes of one
// section, compile refused until every section has an approved take, then compiled by the encoder's merge
// into one MP4 whose length is the sum of the approved takes, recorded on the reel; the CLI shows and
// compiles it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isFaststart, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, ReelbusClient } from '../client.ts';
import type { ReelView } from '../reel.ts';
import { waitForTakes } from '../reel.ts';
import { ROOT, sharedE2E, type SharedE2E } from './harness.ts';

const exec = promisify(execFile);
let e2e: SharedE2E;

beforeAll(async () => {
  e2e = await sharedE2E();
}, 300_000);
afterAll(async () => {
  await e2e?.close();
});

async function cli(args: string[]): Promise<string> {
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), ...args],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        REELBUS_URL: e2e.stack.ingestUrl,
        REELBUS_API_KEY: e2e.stack.secrets.apiKey,
        REELBUS_HOME: e2e.home,
      },
      timeout: 180_000,
    },
  );
  return stdout;
}

/** A server-sent event stream read with fetch: `next(match)` resolves with the first message matching. */
async function openEvents(url: string, apiKey: string) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` }, signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`SSE ${url}: HTTP ${res.status}`);
  const messages: Array<{ event: string; data: unknown }> = [];
  const waiters: Array<() => void> = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) messages.push({ event, data: JSON.parse(data) });
        for (const w of waiters.splice(0)) w();
      }
    }
  })().catch(() => undefined);
  return {
    messages,
    async next(match: (m: { event: string; data: unknown }) => boolean, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching SSE message within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
        });
      }
    },
    close: () => controller.abort(),
  };
}

const section = (prompt: string, duration: number) => ({
  model: 'local-video',
  params: { prompt, duration, width: 320, height: 180 },
});

describe('a reel end to end, offline (local provider)', () => {
  it('generates, reviews (with a race), refuses an early compile, compiles the approved takes into one MP4', async () => {
    const client = e2e.client;
    const created = await client.createReel<ReelView>({
      title: 'E2E reel',
      sections: [
        { title: 'One', ...section('first light', 1.5) },
        section('midday', 1),
        { title: 'Three', ...section('dusk', 2) },
      ],
    });
    expect(created.sections.map((s) => s.takes[0]!.status)).toEqual(['pending', 'pending', 'pending']);
    const settled = await waitForTakes({ client, reelId: created.id, pollMs: 200, timeoutMs: 150_000 });
    expect(settled.sections.map((s) => s.takes[0]!.status)).toEqual(['ready', 'ready', 'ready']);
    const first = settled.sections[0]!.takes[0]!;
    expect(first.output).toMatchObject({ width: 320, height: 180 });
    expect(first.output!.durationSec).toBeCloseTo(1.5, 1);
    expect(first.poster?.key).toBe(`jobs/${first.jobId}/generate/poster.jpg`);
    // the preview link plays without the API key
    const preview = await fetch(first.links.video!, { headers: { range: 'bytes=0-99' } });
    expect(preview.status).toBe(206);

    // a regenerated take, followed on the reel's event stream as it is added and finishes
    const events = await openEvents(
      `${e2e.stack.ingestUrl}/v1/reels/${created.id}/events`,
      e2e.stack.secrets.apiKey,
    );
    expect((await events.next((m) => m.event === 'reel')).data).toMatchObject({ id: created.id });
    const regen = await client.regenerate({
      reelId: created.id,
      sectionId: 's2',
      params: { prompt: 'midday, again' },
    });
    expect(regen.takeId).toBe('t2');
    const isTake = (change: string) => (m: { event: string; data: unknown }) =>
      m.event === 'reel.updated' &&
      (m.data as { data: { change: string; takeId?: string; sectionId?: string } }).data.change === change &&
      (m.data as { data: { sectionId?: string } }).data.sectionId === 's2' &&
      (m.data as { data: { takeId?: string } }).data.takeId === 't2';
    await events.next(isTake('take.added'));
    const ready = await events.next(isTake('take.ready'), 150_000);
    expect((ready.data as { data: { takeStatus: string; jobId: string } }).data).toMatchObject({
      takeStatus: 'ready',
      jobId: regen.jobId,
    });
    events.close();

    // compile refused: no section has an approved take yet
    const early = await client.compileReel(created.id).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ApiError);
    expect((early as ApiError).status).toBe(409);
    expect((early as ApiError).message).toMatch(
      /section s1 \("One"\) has no approved take \(1 ready\).*section s2 has no approved take \(2 ready\).*section s3 \("Three"\)/,
    );

    // two reviewers approve different takes of s2 at once: one wins, the other gets 409
    const reviewer2 = new ReelbusClient({ baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey });
    const race = await Promise.allSettled([
      client.reviewTake({ reelId: created.id, sectionId: 's2', takeId: 't1', verdict: 'approve' }),
      reviewer2.reviewTake({ reelId: created.id, sectionId: 's2', takeId: 't2', verdict: 'approve' }),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((lost.reason as ApiError).status).toBe(409);
    expect((lost.reason as ApiError).message).toMatch(/section s2 already has an approved take/);

    // the CLI approves the rest (the newest ready take by default) and shows the reel
    await cli(['reel', 'approve', created.id, '1']);
    await cli(['reel', 'approve', created.id, 'Three']);
    const shown = await cli(['reel', 'show', created.id]);
    expect(shown).toMatch(/1\. s1 "One" +local-video +approved: t1/);
    expect(shown).toMatch(/3\. s3 "Three" +local-video +approved: t1/);

    // re-order, then compile through the CLI: the merge of the approved takes in the new order
    await client.patchReel(created.id, { sectionOrder: ['s3', 's1', 's2'] });
    const out = await cli(['reel', 'compile', created.id]);
    const mp4 = out.split('\n').find((l) => l.endsWith('/final.mp4'));
    expect(mp4 && existsSync(mp4)).toBe(true);
    const reel = await client.getReel<ReelView>(created.id);
    const approved = reel.sections.map((s) => s.takes.find((t) => t.id === s.approvedTakeId)!);
    const sum = approved.reduce((n, t) => n + t.output!.durationSec, 0);
    const facts = probeFacts(mp4!);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSec - sum)).toBeLessThanOrEqual(0.1);
    expect(isFaststart(mp4!)).toBe(true);
    expect(reel.compile).toMatchObject({
      status: 'completed',
      takes: [
        { sectionId: 's3', takeId: 't1' },
        { sectionId: 's1', takeId: 't1' },
        { sectionId: 's2', takeId: approved[2]!.id },
      ],
      output: { videoCount: 3 },
    });
    expect(reel.compile!.output!.durationSec).toBeCloseTo(facts.durationSec, 1);
    const job = await client.getJob(reel.compile!.jobId);
    expect(job).toMatchObject({
      kind: 'reel',
      status: 'completed',
      origin: { type: 'reel', id: created.id },
    });
    expect(job.steps).toMatchObject({ merge: { status: 'completed' } });
  }, 420_000);
});

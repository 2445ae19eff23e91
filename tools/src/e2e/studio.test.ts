// The studio in a real browser (Debian's chromium through playwright-core) against the real embedded
// stack: sign in, upload the sample call and watch it live to a playing video, share it, a failed
// job, a story's photos, a phone-sized screen, and the live job list. One stack for the file.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@reelbus/contracts';
import { FsBlobStore } from '@reelbus/kit';
import { projectApi } from '../project.ts';
import { makeSampleCall, type SampleCall } from '../sample.ts';
import { ensureStudioBuilt } from '../studio-build.ts';
import { DELIVERY_MIME, launchChromium, screenshotDir, scrollsSideways } from './browser.ts';
import { ROOT, startE2E, type E2E } from './harness.ts';

const run = promisify(execFile);

// page.evaluate() callbacks run in the browser. tools/ is type-checked without the DOM library (it
// would retype Node's Blob), so the browser globals these callbacks use are declared here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: {
  querySelector<T = any>(selector: string): T | null;
  querySelectorAll<T = any>(selector: string): T[];
  activeElement: { id: string } | null;
  createElement(tag: 'video'): { canPlayType(mime: string): string };
  body: unknown;
};
declare const window: any;
declare const sessionStorage: any;
declare const MutationObserver: any;
declare const DataTransfer: any;
declare const DragEvent: any;
/* eslint-enable @typescript-eslint/no-explicit-any */
interface VideoElement {
  currentTime: number;
  readyState: number;
  paused: boolean;
  muted: boolean;
  videoWidth: number;
  videoHeight: number;
  error: { message: string } | null;
  play(): Promise<void>;
  pause(): void;
}
interface ProgressElement {
  value: number;
}
/** What the project tests read of `GET /v1/projects/:id`. */
interface ProjectState {
  revision: number;
  project: {
    title: string;
    scenes: Array<{ id: string; overlay?: { scale: number; animation: string } }>;
  };
}

describe('the studio in a browser', () => {
  let e2e: E2E;
  let sample: SampleCall;
  let browser: Browser;
  let desk: BrowserContext;
  let page: Page;
  let shots: string;
  let callJobId: string | undefined;
  let failedJobId: string | undefined;
  const requests: Request[] = [];
  const responses: Response[] = [];

  const url = (path: string) => `${e2e.stack.ingestUrl}${path}`;
  const shot = (name: string, p: Page = page) =>
    p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  /** A link of the top navigation (pages also link to "new call" in their text). */
  const navTo = (name: string) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  /**
   * Submits the upload form with Chrome's upload throttled (so its progress shows), checks the page
   * showed a value between 0 and 100 %, and returns the id of the job page it then opened.
   */
  async function uploadWithProgress(): Promise<string> {
    const cdp = await desk.newCDPSession(page);
    const throttle = (uploadThroughput: number) =>
      cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput,
      });
    await throttle(64 * 1024);
    await page.evaluate(() => {
      const seen: number[] = (window.uploadSeen = []);
      new MutationObserver(() => {
        const bar = document.querySelector<ProgressElement>('progress[aria-label="Upload progress"]');
        if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByRole('button', { name: 'Upload and make the video' }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 120_000 });
    await throttle(-1);
    const uploadSeen = (await page.evaluate(() => window.uploadSeen)) as number[];
    expect(
      uploadSeen.some((v) => v > 0 && v < 100),
      `upload progress seen: ${uploadSeen}`,
    ).toBe(true);
    return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  }
  const requestsTo = (pattern: RegExp) =>
    requests.filter((r) => pattern.test(new URL(r.url()).pathname + new URL(r.url()).search));

  beforeAll(async () => {
    await ensureStudioBuilt({ root: ROOT });
    // Eight services start at once; on a loaded 2-core machine that can take over a minute.
    e2e = await startE2E({ readyTimeoutMs: 180_000 });
    sample = makeSampleCall({ file: join(e2e.dir, 'call.wav') });
    browser = await launchChromium();
    desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await desk.newPage();
    page.on('request', (r) => requests.push(r));
    page.on('response', (r) => responses.push(r));
    shots = screenshotDir();
    console.log(`studio screenshots: ${shots}`);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await e2e?.close();
  });

  it('runs in a browser that plays H.264 High + AAC-LC MP4 (what reelbus delivers)', async () => {
    await page.goto(url('/'));
    const answer = await page.evaluate(
      (mime) => document.createElement('video').canPlayType(mime),
      DELIVERY_MIME,
    );
    expect(
      answer,
      `this chromium cannot play ${DELIVERY_MIME}: use a build with H.264/AAC (Debian's chromium has them)`,
    ).toBe('probably');
  });

  it('refuses a wrong key with a message next to the field, then signs in with the right one', async () => {
    await page.goto(url('/'));
    await page.waitForURL(/\/sign-in/);
    const key = page.getByLabel('API key');
    await key.fill('rb_not_the_right_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const error = page.locator('#api-key-error');
    await expect.poll(() => error.textContent()).toContain('not accepted');
    expect(await key.getAttribute('aria-invalid')).toBe('true');
    expect(await key.getAttribute('aria-describedby')).toContain('api-key-error');
    await shot('sign-in-wrong-key');

    await key.fill(e2e.stack.secrets.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/jobs$/);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();
    // The key stays in this tab's session storage, never in a URL.
    expect(await page.evaluate(() => sessionStorage.getItem('reelbus.apiKey'))).toBe(
      e2e.stack.secrets.apiKey,
    );
    expect(requests.some((r) => r.url().includes(e2e.stack.secrets.apiKey))).toBe(false);
  });

  it('uploads the sample call with progress, follows it live over SSE to 100 %, and plays the 1280×720 video', async () => {
    await navTo('New call');
    await page.getByRole('heading', { name: 'New call video' }).waitFor();
    await page.getByLabel(/Call recording/).setInputFiles(sample.file);
    await shot('new-call');
    const jobId = await uploadWithProgress();
    callJobId = jobId;

    // Every value the progress bar shows, from here on.
    await page.evaluate(() => {
      const seen: number[] = (window.progressSeen = []);
      const record = () => {
        const bar = document.querySelector<ProgressElement>('#job-progress');
        if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
      };
      record();
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
      });
    });
    await shot('job-running');
    await page.waitForFunction(
      () => document.querySelector<ProgressElement>('#job-progress')?.value === 100,
      undefined,
      { timeout: 300_000, polling: 500 },
    );
    const progressSeen = (await page.evaluate(() => window.progressSeen)) as number[];
    expect(
      progressSeen.some((v) => v > 0 && v < 100),
      `progress seen: ${progressSeen}`,
    ).toBe(true);
    expect([...progressSeen].sort((a, b) => a - b)).toEqual(progressSeen);
    // Live from the event stream, no polling: the document is read only once the job has ended, for
    // what only the API adds (the signed video link) — again, a few times at most, while the store does
    // not show the end yet (the notifier projects `job.completed` after publishing it).
    const docReads = () => requestsTo(new RegExp(`^/v1/jobs/${jobId}$`));
    const statusOf = async (r: Request) => ((await (await r.response())!.json()) as Job).status;
    await expect
      .poll(
        async () => {
          const last = docReads().at(-1);
          return last ? statusOf(last) : undefined;
        },
        { timeout: 15_000 },
      )
      .toBe('completed');
    const reads = docReads();
    expect(reads.length, reads.map((r) => r.url()).join('\n')).toBeLessThanOrEqual(6);
    const readDocs = await Promise.all(reads.map(async (r) => (await (await r.response())!.json()) as Job));
    // Every read came after the work was done (a poll while the job ran would see the encode unfinished).
    expect(readDocs.map((d) => d.steps.encode?.status)).toEqual(readDocs.map(() => 'completed'));
    expect(requestsTo(new RegExp(`^/v1/jobs/${jobId}/events$`)).length).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.locator('.badge').first().textContent()).toBe('Completed');

    const video = page.locator('#job-video');
    await video.waitFor({ timeout: 30_000 });
    expect(await video.getAttribute('playsinline')).not.toBeNull();
    expect(await video.getAttribute('controls')).not.toBeNull();
    expect(await video.getAttribute('src')).toMatch(
      new RegExp(`/v1/jobs/${jobId}/video\\.mp4\\?expires=\\d+&signature=`),
    );
    await video.evaluate(async (v: VideoElement) => {
      v.muted = true;
      await v.play();
    });
    await page.waitForFunction(
      () => {
        const v = document.querySelector<VideoElement>('#job-video')!;
        return v.readyState >= 3 && v.currentTime > 0.2;
      },
      undefined,
      { timeout: 30_000 },
    );
    const t0 = await video.evaluate((v: VideoElement) => v.currentTime);
    await page.waitForFunction(
      (t) => document.querySelector<VideoElement>('#job-video')!.currentTime > t + 0.5,
      t0,
      { timeout: 30_000 },
    );
    const facts = await video.evaluate((v: VideoElement) => ({
      width: v.videoWidth,
      height: v.videoHeight,
      readyState: v.readyState,
      error: v.error?.message ?? null,
    }));
    expect(facts).toMatchObject({ width: 1280, height: 720, error: null });
    expect(facts.readyState).toBeGreaterThanOrEqual(3);
    // The browser fetched the video in byte ranges, and got them.
    const ranged = responses.filter(
      (r) => r.url().includes(`/v1/jobs/${jobId}/video.mp4`) && r.status() === 206,
    );
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged[0]!.headers()['content-range']).toMatch(/^bytes \d+-\d+\/\d+$/);
    await video.evaluate((v: VideoElement) => v.pause());
    const download = page.getByRole('link', { name: 'Download MP4' });
    expect(await download.getAttribute('download')).toBe(`${jobId}.mp4`);
    await page.getByRole('heading', { name: 'Steps' }).scrollIntoViewIfNeeded();
    await shot('job-completed');
  }, 420_000);

  it('makes a signed link that plays in a fresh browser without a key: inline, muted, on its own', async () => {
    expect(callJobId).toBeDefined();
    await page.getByLabel('Link works for').selectOption({ label: '1 hour' });
    await page.getByRole('button', { name: 'Copy signed link' }).click();
    const field = page.getByLabel(/Signed link/);
    await field.waitFor();
    const link = await field.inputValue();
    expect(link).toMatch(
      new RegExp(`^${e2e.stack.ingestUrl}/watch/${callJobId}\\?expires=\\d+&signature=[0-9a-f]{64}$`),
    );
    expect(link).not.toContain(e2e.stack.secrets.apiKey);

    const stranger = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await stranger.newPage();
      await p.goto(link);
      const video = p.locator('#shared-video');
      await video.waitFor();
      for (const attr of ['playsinline', 'muted', 'autoplay', 'controls'])
        expect(await video.getAttribute(attr), attr).not.toBeNull();
      // Nobody presses play: it starts by itself.
      await p.waitForFunction(
        () => {
          const v = document.querySelector<VideoElement>('#shared-video')!;
          return v.readyState >= 3 && v.currentTime > 0.5 && !v.paused;
        },
        undefined,
        { timeout: 30_000 },
      );
      expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
      expect(await scrollsSideways(p)).toBe(false);
      await shot('watch-phone', p);
      // A tampered link says why it does not play.
      await p.goto(
        link.replace(/signature=[0-9a-f]/, (m) => (m.endsWith('0') ? 'signature=1' : 'signature=0')),
      );
      await expect.poll(() => p.getByRole('alert').textContent(), { timeout: 15_000 }).toContain('not valid');
    } finally {
      await stranger.close();
    }
  }, 120_000);

  it('names a file that is not audio next to the field, and shows the reason a job failed', async () => {
    await navTo('New call');
    const drop = async (name: string, type: string, text: string) =>
      page.evaluate(
        ({ name, type, text }) => {
          const data = new DataTransfer();
          data.items.add(new File([text], name, { type }));
          const zone = document.querySelector('[data-drop-for="recording"]')!;
          for (const t of ['dragenter', 'dragover', 'drop'])
            zone.dispatchEvent(new DragEvent(t, { dataTransfer: data, bubbles: true, cancelable: true }));
        },
        { name, type, text },
      );
    // Dropped on the drop zone, like a person would.
    await drop('notes.txt', 'text/plain', 'Call notes: ring back on Thursday.');
    await expect.poll(() => page.locator('.drop__file').first().textContent()).toContain('notes.txt');
    await page.getByRole('button', { name: 'Upload and make the video' }).click();
    const fieldError = page.locator('#recording-error');
    await expect.poll(() => fieldError.textContent(), { timeout: 30_000 }).toMatch(/notes\.txt/);
    expect(await page.getByLabel(/Call recording/).getAttribute('aria-invalid')).toBe('true');
    await shot('new-call-not-audio');

    // A text file named like a recording passes the upload check and fails in the pipeline.
    await drop('voicemail.wav', 'audio/wav', 'This is not a WAV file at all, only text.');
    await page.getByRole('button', { name: 'Upload and make the video' }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 60_000 });
    const alert = page.locator('#job-error');
    await alert.waitFor({ timeout: 180_000 });
    expect(await alert.textContent()).toMatch(/Failed at “Split”.*not an audio file/s);
    await expect.poll(() => page.locator('.badge').first().textContent()).toBe('Failed');
    expect(await page.locator('[data-step="split"] .step__error').textContent()).toMatch(/not an audio file/);
    failedJobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await shot('job-failed');
  }, 240_000);

  it('retries a failed job from its failed step (operator key): it runs the split again and fails the same way', async () => {
    expect(failedJobId).toBeDefined();
    const retry = page.getByRole('button', { name: 'Retry from the failed step' });
    await retry.waitFor();
    const answered = page.waitForResponse((r) => r.url().endsWith(`/v1/jobs/${failedJobId}/retry`));
    await retry.click();
    expect((await answered).status()).toBe(200);
    // The page follows the reopened job live; the split sees the same text file and fails again.
    await expect
      .poll(async () => (await e2e.client.getJob(failedJobId!)).state.retries, { timeout: 30_000 })
      .toBe(1);
    await page.locator('#job-error').waitFor({ timeout: 120_000 });
    await expect
      .poll(() => page.locator('.badge').first().textContent(), { timeout: 120_000 })
      .toBe('Failed');
    expect(await page.locator('#job-error').textContent()).toMatch(/not an audio file/);
  }, 180_000);

  it('lists the dead letter with its reason on the Operators page and replays it to the service that failed', async () => {
    expect(failedJobId).toBeDefined();
    await navTo('Operators');
    await page.getByRole('heading', { name: 'Operators' }).waitFor();
    const letterOfJob = page.locator('.letter').filter({
      has: page.locator('.letter__job', { hasText: failedJobId! }),
    });
    // The retry above failed again: its new dead letter is listed (refresh until the split gave up).
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return letterOfJob.count();
        },
        { timeout: 60_000 },
      )
      .toBe(1);
    expect(await letterOfJob.locator('.letter__reason').textContent()).toMatch(/not an audio file/);
    expect(await letterOfJob.locator('.letter__where').textContent()).toMatch(/audio-splitter · Split/);
    const seq = Number(await letterOfJob.getAttribute('data-seq'));
    await shot('operators');

    await letterOfJob.getByRole('button', { name: `Replay #${seq}` }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Dead letter' }).textContent())
      .toContain(`Dead letter ${seq} was sent to audio-splitter again`);
    expect(await page.locator(`.letter[data-seq="${seq}"]`).count()).toBe(0);
    // The service really handled it: it failed the same way and dead-lettered it anew, at a later number.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          const again = letterOfJob.first();
          return (await letterOfJob.count()) === 1 ? Number(await again.getAttribute('data-seq')) : 0;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThan(seq);
    await shot('operators-replayed');
  }, 180_000);

  it('starts a local generation from the form built from the model’s params, with an API error next to its field, and shows the picture', async () => {
    await navTo('Generations');
    await page.getByRole('heading', { name: 'Generations' }).waitFor();
    // The registry with prices.
    const localImage = page.locator('.model[data-model="local-image"]');
    await localImage.waitFor();
    expect(await localImage.locator('.model__price').textContent()).toBe('Free');
    expect(await page.locator('.model[data-model="flux-schnell"] .model__price').textContent()).toMatch(
      /^\$[\d.]+ per /,
    );
    await page.getByRole('radio', { name: /local-image/ }).check();
    await page.waitForURL(/model=local-image/);
    const prompt = page.getByLabel(/^Prompt/);
    await prompt.fill('a lighthouse at dusk');
    // A size the model refuses: the API names params.width, shown under the width field.
    await page.getByLabel(/^Width/).fill('100000');
    await page.getByLabel(/^Height/).fill('256');
    await page.getByRole('button', { name: 'Generate' }).click();
    const widthError = page.locator('#param-width-error');
    await expect.poll(() => widthError.textContent(), { timeout: 15_000 }).toMatch(/4096/);
    expect(await page.getByLabel(/^Width/).getAttribute('aria-invalid')).toBe('true');
    // focus moves to the first named field once the page has drawn the errors (an effect after render)
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('param-width');
    await shot('generations-error');

    await page.getByLabel(/^Width/).fill('320');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await expect
      .poll(() => page.locator('.badge').first().textContent(), { timeout: 120_000 })
      .toBe('Completed');
    const image = page.locator('#job-image');
    await image.waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => (document.querySelector<{ naturalWidth: number }>('#job-image')?.naturalWidth ?? 0) > 0,
    );
    expect(await image.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth)).toBe(320);
    expect(await image.getAttribute('alt')).toContain('a lighthouse at dusk');
    const job = await e2e.client.getJob(jobId);
    expect(job).toMatchObject({
      kind: 'generation',
      status: 'completed',
      outputs: { image: { width: 320, height: 256 } },
    });
    await shot('generation-completed');
  }, 180_000);

  it('lays out a story’s photos as thumbnails that reorder by drag and drop and by buttons', async () => {
    await navTo('New story');
    await page.getByRole('heading', { name: 'New story video' }).waitFor();
    const dir = join(e2e.dir, 'photos');
    mkdirSync(dir, { recursive: true });
    const photos = ['beach', 'garden', 'kitchen'].map((name, i) => {
      const file = join(dir, `${name}.png`);
      solidPng(file, ['0xe07a5f', '0x81b29a', '0x3d405b'][i]!);
      return file;
    });
    await page.getByLabel(/More photos/).setInputFiles(photos);
    const names = () => page.locator('.photo__name').allTextContents();
    await expect.poll(names).toEqual(['1. beach.png', '2. garden.png', '3. kitchen.png']);
    await expect
      .poll(() =>
        page
          .locator('.photo__thumb')
          .evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth)),
      )
      .toEqual([160, 160, 160]);
    await page.getByRole('button', { name: 'Move photo 3 earlier' }).click();
    await expect.poll(names).toEqual(['1. beach.png', '2. kitchen.png', '3. garden.png']);
    await page.locator('.photo').nth(2).dragTo(page.locator('.photo').nth(0));
    await expect.poll(names).toEqual(['1. garden.png', '2. beach.png', '3. kitchen.png']);
    await page.getByLabel(/Music level/).fill('-30');
    expect(await page.locator('output[for="story-gain"]').textContent()).toBe('-30 dB');
    await shot('new-story');
  });

  it('uploads that story with its photos in the chosen order, shows the upload progress and opens its job page', async () => {
    await page.getByLabel(/Story recording/).setInputFiles(sample.file);
    await page.getByLabel('Mood').selectOption('none');
    const jobId = await uploadWithProgress();
    await expect.poll(() => page.locator('h1').first().textContent()).toMatch(/^Story/);
    const job = await e2e.client.getJob(jobId);
    expect(job.kind).toBe('story');
    // The photos went in the order the page showed after the reordering: garden, beach, kitchen (each
    // stored upload compared byte for byte with the file it came from).
    const images = (job.input as { images?: Array<{ key?: string }> }).images ?? [];
    const original = (name: string) => readFileSync(join(e2e.dir, 'photos', `${name}.png`));
    expect(images.map((i) => readFileSync(join(e2e.stack.blobDir, i.key!)))).toEqual(
      ['garden', 'beach', 'kitchen'].map(original),
    );
    expect((job.input as { music?: { mood?: string } }).music?.mood).toBe('none');
    // Its render is not what this file tests: stop it, so the next tests have the cores.
    await e2e.client.cancelJob(jobId);
  });

  it('fits a 390×844 phone: the job page, the list and the forms scroll only up and down', async () => {
    expect(callJobId).toBeDefined();
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await phone.newPage();
      await p.goto(url(`/jobs/${callJobId}`));
      await p.waitForURL(/\/sign-in/);
      await p.getByLabel('API key').fill(e2e.stack.secrets.apiKey);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL(new RegExp(`/jobs/${callJobId}$`));
      await p.locator('#job-video').waitFor({ timeout: 30_000 });
      await p.waitForFunction(() => document.querySelector<VideoElement>('#job-video')!.readyState >= 1);
      expect(await scrollsSideways(p)).toBe(false);
      const box = await p.locator('#job-video').boundingBox();
      expect(box!.width).toBeLessThanOrEqual(390);
      await shot('job-phone', p);
      for (const [path, name] of [
        ['/jobs', 'jobs-phone'],
        ['/new/story', 'new-story-phone'],
        ['/new/call', 'new-call-phone'],
        ['/generations?model=local-video', 'generations-phone'],
        ['/operators', 'operators-phone'],
      ] as const) {
        await p.goto(url(path));
        await p.locator('h1').waitFor();
        if (path === '/jobs') await p.locator('table.jobs').waitFor();
        if (path.startsWith('/generations')) await p.locator('#param-prompt').waitFor();
        if (path === '/operators') await p.locator('.letters, .empty').first().waitFor();
        expect(await scrollsSideways(p), path).toBe(false);
        await shot(name, p);
      }
    } finally {
      await phone.close();
    }
  }, 120_000);

  it('shows a job submitted from the CLI in the open job list at once, without reloading it', async () => {
    await navTo('Jobs');
    await page.getByText('Live', { exact: true }).waitFor({ timeout: 30_000 });
    await page.locator('table.jobs, .empty').first().waitFor();
    const listReads = () => requestsTo(/^\/v1\/jobs\?/).length;
    const readsBefore = listReads();
    const rowsBefore = await page.locator('table.jobs tbody tr').count();
    await shot('jobs');

    const short = makeSampleCall({
      file: join(e2e.dir, 'short-call.wav'),
      dialog: [
        { side: 'caller', text: 'Hi, quick question.' },
        { side: 'callee', text: 'Go ahead.' },
      ],
    });
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), 'submit', short.file, '--no-follow'],
      {
        cwd: ROOT,
        env: { ...process.env, REELBUS_URL: e2e.stack.ingestUrl, REELBUS_API_KEY: e2e.stack.secrets.apiKey },
      },
    );
    const jobId = /job (\S+)/.exec(stdout)?.[1];
    expect(jobId, stdout).toBeDefined();
    const row = page.locator(`tr[data-job-id="${jobId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await page.locator('table.jobs tbody tr').count()).toBe(rowsBefore + 1);
    // Newest first, and its status moves on live.
    expect(await page.locator('table.jobs tbody tr').first().getAttribute('data-job-id')).toBe(jobId);
    await expect
      .poll(() => row.locator('.badge').textContent(), { timeout: 60_000 })
      .toMatch(/Running|Completed/);
    expect(listReads()).toBe(readsBefore);
    await shot('jobs-live');
  }, 120_000);

  // Reels (issue 14): made, reviewed and compiled in the studio with the offline local-video model.
  let reelId: string | undefined;
  /** Opens `path` signed in (the sign-in page asks first when the tests above were left out, e.g. with -t). */
  const openSignedIn = async (p: Page, path: string) => {
    await p.goto(url(path));
    await p.locator('h1').first().waitFor();
    if (new URL(p.url()).pathname === '/sign-in') {
      await p.getByLabel('API key').fill(e2e.stack.secrets.apiKey);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.waitForURL((u) => `${u.pathname}${u.search}` === path);
    }
  };
  const takeOf = (sectionId: string, takeId: string) =>
    page.locator(`[data-section-id="${sectionId}"] [data-take-id="${takeId}"]`);
  const sectionOrder = () =>
    page.locator('.reel-section').evaluateAll((els) => els.map((e) => e.getAttribute('data-section-id')));

  it('makes a reel from three sections with the models’ params forms, an API error next to its field', async () => {
    await openSignedIn(page, '/reels');
    await page.getByRole('heading', { name: 'Reels', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'New reel' }).click();
    await page.getByRole('heading', { name: 'New reel' }).waitFor();
    await page.getByLabel(/^Title/).fill('Studio reel');
    await page.getByRole('button', { name: 'Add a section' }).click();
    const forms = page.locator('fieldset.draft-section');
    await expect.poll(() => forms.count()).toBe(3);
    for (const [i, prompt] of ['first light', 'midday', 'dusk'].entries()) {
      const f = forms.nth(i);
      await f.getByLabel('Model').selectOption('local-video');
      await f.getByLabel(/^Prompt/).fill(prompt);
      await f.getByLabel(/^Duration/).fill('1');
      await f.getByLabel(/^Width/).fill(i === 1 ? '5000' : '320');
      await f.getByLabel(/^Height/).fill('180');
    }
    await forms.nth(0).getByLabel('Section title').fill('Opening');
    // A width the model refuses: the API names sections[1].params.width, shown under that field.
    await page.getByRole('button', { name: 'Create the reel' }).click();
    const widthError = forms.nth(1).locator('.field-errors');
    await expect.poll(() => widthError.textContent(), { timeout: 15_000 }).toMatch(/3840/);
    expect(
      await forms
        .nth(1)
        .getByLabel(/^Width/)
        .getAttribute('aria-invalid'),
    ).toBe('true');
    await shot('reel-new-error');

    await forms
      .nth(1)
      .getByLabel(/^Width/)
      .fill('320');
    await page.getByRole('button', { name: 'Create the reel' }).click();
    await page.waitForURL(/\/reels\/reel_[^/]+$/, { timeout: 30_000 });
    reelId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await page.getByRole('heading', { name: /Studio reel/ }).waitFor();
    expect(await sectionOrder()).toEqual(['s1', 's2', 's3']);
  }, 120_000);

  it('shows a reel’s takes live as they finish, playing inline; regenerates, rejects with a reason, and shows a concurrent approve refused', async () => {
    expect(reelId).toBeDefined();
    // The takes finish while the page is open: the reel's event stream says so, no reload.
    await expect
      .poll(() => page.locator('.take--ready').count(), { timeout: 180_000, interval: 500 })
      .toBe(3);
    const video = takeOf('s1', 't1').locator('video');
    expect(await video.getAttribute('playsinline')).not.toBeNull();
    expect(await video.getAttribute('src')).toMatch(/\/v1\/jobs\/[^/]+\/video\.mp4\?expires=\d+&signature=/);
    await page.waitForFunction(
      () => document.querySelector<VideoElement>('[data-take-id="t1"] video')!.readyState >= 1,
    );
    expect(requestsTo(new RegExp(`^/v1/reels/${reelId}/events$`)).length).toBeGreaterThanOrEqual(1);

    // Regenerate the middle section with another prompt: a second take appears and becomes ready live.
    const s2 = page.locator('[data-section-id="s2"]');
    await s2.locator('summary').click();
    await s2.getByLabel(/^Prompt/).fill('midday, again');
    await s2.getByRole('button', { name: 'Make a new take' }).click();
    await takeOf('s2', 't2').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => takeOf('s2', 't2').getAttribute('class'), { timeout: 180_000 })
      .toContain('take--ready');
    expect(await takeOf('s2', 't2').locator('.take__prompt').textContent()).toBe('“midday, again”');
    await expect.poll(() => page.locator('#reel-change').textContent()).toContain('Take t2 of section 2');

    // Two approvals of one section at once (as two reviewers would): one wins, the other is refused (409)
    // and the page says why.
    const approvals = () =>
      responses.filter((r) => /\/sections\/s2\/takes\/t[12]\/approve$/.test(new URL(r.url()).pathname));
    await page.evaluate(() => {
      for (const t of ['t1', 't2'])
        document
          .querySelector(`[data-section-id="s2"] [data-take-id="${t}"] button[aria-label^="Approve"]`)!
          .click();
    });
    await expect.poll(() => approvals().length, { timeout: 30_000 }).toBe(2);
    expect(
      approvals()
        .map((r) => r.status())
        .sort(),
    ).toEqual([200, 409]);
    const refused = page.locator('[data-section-error="s2"]');
    await expect
      .poll(() => refused.textContent())
      .toMatch(/Could not approve take t[12]: .*already has an approved take/);
    await expect.poll(() => s2.locator('.take--approved').count()).toBe(1);

    // Reject the opening's take with a reason, then approve it after all.
    const opening = takeOf('s1', 't1');
    await opening.getByRole('button', { name: 'Reject take t1 of section 1 “Opening”…' }).click();
    await opening.getByLabel('Why reject take t1?').fill('Too dark at the start');
    await opening.getByRole('button', { name: 'Reject take t1 of section 1 “Opening”' }).click();
    await expect
      .poll(() => opening.locator('.take__review').textContent())
      .toMatch(/^Rejected by .+: Too dark at the start$/);
    await opening.getByRole('button', { name: 'Approve take t1 of section 1 “Opening”' }).click();
    await expect.poll(() => opening.getAttribute('class')).toContain('take--approved');

    // Two of three sections approved: compile is disabled and says which section lacks a take.
    const compile = page.locator('#compile-button');
    expect(await compile.isDisabled()).toBe(true);
    expect(await compile.getAttribute('aria-describedby')).toBe('compile-reasons');
    expect(await page.locator('#compile-reasons').textContent()).toContain(
      'Section 3 has no approved take (1 waiting for review).',
    );
    await shot('reel-board');
  }, 420_000);

  it('re-orders a reel’s sections, compiles once every section has an approved take, and plays the compiled video', async () => {
    expect(reelId).toBeDefined();
    // With the keyboard: the focus stays on the moved section's button, under its new name.
    await page.getByRole('button', { name: 'Move section 3 earlier' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(sectionOrder).toEqual(['s1', 's3', 's2']);
    await expect.poll(() => page.locator(':focus').getAttribute('aria-label')).toBe('Move section 2 earlier');
    expect(await page.locator('#compile-reasons').textContent()).toContain('Section 2 has no approved take');
    await takeOf('s3', 't1').getByRole('button', { name: 'Approve take t1 of section 2' }).click();
    const compile = page.locator('#compile-button');
    await expect.poll(() => compile.isDisabled()).toBe(false);
    expect(await page.locator('#compile-reasons').count()).toBe(0);
    await compile.click();

    const video = page.locator('#reel-video');
    await video.waitFor({ timeout: 300_000 });
    expect(await video.getAttribute('playsinline')).not.toBeNull();
    await video.evaluate(async (v: VideoElement) => {
      v.muted = true;
      await v.play();
    });
    await page.waitForFunction(
      () => {
        const v = document.querySelector<VideoElement>('#reel-video')!;
        return v.readyState >= 3 && v.currentTime > 0.2;
      },
      undefined,
      { timeout: 30_000 },
    );
    const t0 = await video.evaluate((v: VideoElement) => v.currentTime);
    await page.waitForFunction(
      (t) => document.querySelector<VideoElement>('#reel-video')!.currentTime > t + 0.3,
      t0,
      { timeout: 30_000 },
    );
    expect(await video.evaluate((v: VideoElement) => [v.videoWidth, v.videoHeight, v.error])).toEqual([
      320,
      180,
      null,
    ]);
    await video.evaluate((v: VideoElement) => v.pause());
    // The compile joined the approved takes in the order shown.
    const reel = await e2e.client.getReel<{
      compile: { status: string; takes: Array<{ sectionId: string }>; output: { videoCount: number } };
    }>(reelId!);
    expect(reel.compile.status).toBe('completed');
    expect(reel.compile.takes.map((t) => t.sectionId)).toEqual(['s1', 's3', 's2']);
    expect(reel.compile.output.videoCount).toBe(3);
    expect(requests.some((r) => r.url().includes(e2e.stack.secrets.apiKey))).toBe(false);
    await page.locator('#compile-h').scrollIntoViewIfNeeded();
    await shot('reel-compiled');
  }, 420_000);

  it('plays a generated voice on its job page', async () => {
    await openSignedIn(page, '/generations?model=local-speech');
    await page.getByLabel(/^Text/).fill('The reel is ready for review.');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 30_000 });
    const audio = page.locator('#job-audio');
    await audio.waitFor({ timeout: 120_000 });
    expect(await audio.getAttribute('controls')).not.toBeNull();
    expect(await audio.getAttribute('src')).toMatch(/\/v1\/jobs\/[^/]+\/audio\?expires=\d+&signature=/);
    await audio.evaluate(async (a: VideoElement) => {
      a.muted = true;
      await a.play();
    });
    await page.waitForFunction(
      () => {
        const a = document.querySelector<VideoElement>('#job-audio')!;
        return a.readyState >= 3 && a.currentTime > 0.2;
      },
      undefined,
      { timeout: 30_000 },
    );
    await shot('generation-audio');
  }, 180_000);

  it('fits the reel pages on a 390×844 phone without sideways scrolling', async () => {
    expect(reelId).toBeDefined();
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    try {
      const p = await phone.newPage();
      for (const [path, name] of [
        ['/reels', 'reels-phone'],
        ['/reels/new', 'reel-new-phone'],
        [`/reels/${reelId}`, 'reel-board-phone'],
      ] as const) {
        await openSignedIn(p, path);
        if (path === '/reels') await p.locator('.reel-list').waitFor();
        if (path === '/reels/new') await p.locator('fieldset.draft-section').first().waitFor();
        if (path.startsWith('/reels/reel_')) await p.locator('#reel-video').waitFor();
        expect(await scrollsSideways(p), path).toBe(false);
        await shot(name, p);
      }
      // Every control of the board has a name a screen reader reads out.
      const unnamed = await p.evaluate(() =>
        [...document.querySelectorAll('button, input, select, textarea, video')]
          .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
          .map((el) => String(el.outerHTML).slice(0, 80)),
      );
      expect(unnamed).toEqual([]);
    } finally {
      await phone.close();
    }
    await openSignedIn(page, '/reels');
    await page.locator(`[data-reel-id="${reelId}"]`).waitFor();
    await shot('reels');
  }, 120_000);
  // Scene projects (issue 13/14): a page of its own (own sign-in), so these run alone with `-t project`.
  describe('a scene project', () => {
    let ed: BrowserContext;
    let ep: Page;
    let projectId: string;
    const api = <T>(method: 'GET' | 'PATCH', path: string, body?: unknown) =>
      projectApi<T>({
        client: { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey },
        method,
        path,
        ...(body ? { body } : {}),
      });
    const stored = () => api<ProjectState>('GET', `/v1/projects/${projectId}`);
    const sceneTexts = () => ep.locator('.scene-item__text').allTextContents();
    const status = () => ep.locator('#project-status').textContent();

    beforeAll(async () => {
      ed = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      ep = await ed.newPage();
      // A product image for the overlay, in the stack's bucket.
      const png = join(e2e.dir, 'product.png');
      solidPng(png, '0xff00ff');
      await new FsBlobStore({ root: e2e.stack.blobDir }).putFile('brand/studio-product.png', png);
    });
    afterAll(async () => {
      await ed?.close();
    });

    it('creates a project from a pasted spec (a bad field named under it), reorders it by drag and drop and by keyboard, changes the overlay size, undoes it with the button and Ctrl-Z, and previews it with its phases to a video that plays', async () => {
      await ep.goto(url('/projects'));
      await ep.waitForURL(/\/sign-in/);
      await ep.getByLabel('API key').fill(e2e.stack.secrets.apiKey);
      await ep.getByRole('button', { name: 'Sign in' }).click();
      await ep.waitForURL(/\/projects$/);
      await ep.getByRole('heading', { name: 'Scene projects' }).waitFor();
      const visual = (prompt: string) => ({ model: 'local-image', params: { prompt } });
      const spec = (scale: number) => ({
        title: 'Studio project',
        music: { source: { mood: 'calm' }, volume: 0.15 },
        scenes: [
          {
            id: 's1',
            narration: 'Hello there.',
            duration: 2,
            visual: visual('a quiet harbour'),
            overlay: { image: { key: 'brand/studio-product.png' }, scale, animation: 'none' },
          },
          { id: 's2', narration: 'A field of wheat.', duration: 2, visual: visual('a field') },
          { id: 's3', narration: 'Goodbye.', duration: 2, visual: visual('a sunset') },
        ],
      });
      const specField = ep.getByLabel(/Project spec/);
      await specField.fill(JSON.stringify(spec(0.95), null, 2));
      await ep.getByRole('button', { name: 'Create from the spec' }).click();
      await expect
        .poll(() => ep.locator('#new-project-spec-error').textContent(), { timeout: 15_000 })
        .toMatch(/scenes\[0\]\.overlay\.scale/);
      expect(await specField.getAttribute('aria-invalid')).toBe('true');
      await specField.fill(JSON.stringify(spec(0.3), null, 2));
      await ep.getByRole('button', { name: 'Create from the spec' }).click();
      await ep.waitForURL(/\/projects\/prj_[^/]+$/, { timeout: 30_000 });
      projectId = decodeURIComponent(new URL(ep.url()).pathname.split('/').pop()!);
      await ep.getByRole('heading', { name: 'Studio project' }).waitFor();
      expect(await sceneTexts()).toEqual(['Hello there.', 'A field of wheat.', 'Goodbye.']);

      // Drag the third scene onto the first: saved at the revision the page showed.
      const ordered = ep.waitForRequest((r) => r.url().endsWith(`/v1/projects/${projectId}/scene-order`));
      await ep
        .locator('.scene-item')
        .nth(2)
        .locator('.scene-item__grip')
        .dragTo(ep.locator('.scene-item').nth(0));
      expect((await ordered).headers()['if-match']).toBe('"1"');
      await expect.poll(sceneTexts).toEqual(['Goodbye.', 'Hello there.', 'A field of wheat.']);
      await expect.poll(status).toContain('Scene order saved');
      expect((await stored()).project.scenes.map((s) => s.id)).toEqual(['s3', 's1', 's2']);
      // The same with the keyboard.
      await ep.getByRole('button', { name: 'Move scene 1 later' }).focus();
      await ep.keyboard.press('Enter');
      await expect.poll(sceneTexts).toEqual(['Hello there.', 'Goodbye.', 'A field of wheat.']);
      await expect
        .poll(async () => (await stored()).project.scenes.map((s) => s.id))
        .toEqual(['s1', 's3', 's2']);

      // The overlay's size, then undo (button), redo and undo again (keyboard).
      await ep.getByRole('button', { name: /^Edit scene 1: Hello there/ }).click();
      const size = ep.getByLabel(/Overlay size/);
      expect(await size.inputValue()).toBe('0.3');
      await size.fill('0.5');
      await expect.poll(status).toContain('Overlay size saved');
      const scaleOf = async () => (await stored()).project.scenes.find((s) => s.id === 's1')!.overlay!.scale;
      expect(await scaleOf()).toBe(0.5);
      expect(await ep.locator('output[for="scene-s1-overlay-scale"]').textContent()).toBe('50 %');
      await shot('project-edited', ep);
      await ep.getByRole('button', { name: /Undo$/ }).click();
      await expect.poll(() => size.inputValue()).toBe('0.3');
      await expect.poll(status).toContain('Undone: change overlay of scene s1');
      expect(await scaleOf()).toBe(0.3);
      await ep.keyboard.press('Control+Shift+Z');
      await expect.poll(() => size.inputValue()).toBe('0.5');
      await ep.keyboard.press('Control+Z');
      await expect.poll(() => size.inputValue()).toBe('0.3');
      expect(await scaleOf()).toBe(0.3);

      // Preview: the phases as they come over the job's event stream, then the video plays in the page.
      await ep.evaluate(() => {
        const seen: string[] = (window.phasesSeen = []);
        const record = () => {
          const text = document.querySelector<{ textContent: string }>('#render-phase')?.textContent;
          if (text && seen[seen.length - 1] !== text) seen.push(text);
        };
        new MutationObserver(record).observe(document.body, {
          subtree: true,
          childList: true,
          characterData: true,
        });
      });
      await ep.getByRole('button', { name: /^Preview/ }).click();
      await ep.locator('[data-phase="complete"][data-state="done"]').waitFor({ timeout: 420_000 });
      const phasesSeen = (await ep.evaluate(() => window.phasesSeen)) as string[];
      console.log(`preview phases seen: ${phasesSeen.join(' | ')}`);
      expect(
        phasesSeen.some((p) => p.startsWith('Preparing')),
        phasesSeen.join(' | '),
      ).toBe(true);
      expect(phasesSeen.at(-1)).toBe('Complete');
      const video = ep.locator('#project-video');
      await video.waitFor({ timeout: 30_000 });
      expect(await video.getAttribute('playsinline')).not.toBeNull();
      await video.evaluate(async (v: VideoElement) => {
        v.muted = true;
        await v.play();
      });
      await ep.waitForFunction(
        () => {
          const v = document.querySelector<VideoElement>('#project-video')!;
          return v.readyState >= 3 && v.currentTime > 0.2;
        },
        undefined,
        { timeout: 30_000 },
      );
      const t0 = await video.evaluate((v: VideoElement) => v.currentTime);
      await ep.waitForFunction(
        (t) => document.querySelector<VideoElement>('#project-video')!.currentTime > t + 0.3,
        t0,
        { timeout: 30_000 },
      );
      expect(await video.evaluate((v: VideoElement) => [v.videoWidth, v.videoHeight, v.error])).toEqual([
        854,
        480,
        null,
      ]);
      await video.evaluate((v: VideoElement) => v.pause());
      await shot('project-previewed', ep);
    }, 600_000);

    it('says another tab changed the project when it changed through the API after the page read it, saves again after a reload, names a refused field under it, adds and deletes a scene', async () => {
      expect(projectId).toBeDefined();
      const before = await stored();
      // Another client changes the title: the page still shows the revision before it.
      await api('PATCH', `/v1/projects/${projectId}`, { title: 'Renamed elsewhere' });
      const animation = ep.getByLabel('Animation');
      await animation.selectOption({ label: 'Zoom in' });
      const conflict = ep.locator('#project-conflict');
      await conflict.waitFor({ timeout: 15_000 });
      expect(await conflict.textContent()).toContain('Another tab changed this project');
      expect(await animation.inputValue()).toBe('none');
      expect(await ep.getByRole('button', { name: /Undo$/ }).isDisabled()).toBe(true);
      const after = await stored();
      expect(after.revision).toBe(before.revision + 1);
      expect(after.project.scenes.find((s) => s.id === 's1')!.overlay!.animation).toBe('none');
      await shot('project-conflict', ep);

      await ep.getByRole('button', { name: 'Reload the project' }).click();
      await ep.getByRole('heading', { name: 'Renamed elsewhere' }).waitFor();
      expect(await conflict.count()).toBe(0);
      const saved = ep.waitForRequest((r) => r.url().endsWith(`/v1/projects/${projectId}/scenes/s1`));
      await animation.selectOption({ label: 'Zoom in' });
      expect((await saved).headers()['if-match']).toBe(`"${after.revision}"`);
      await expect
        .poll(async () => (await stored()).project.scenes.find((s) => s.id === 's1')!.overlay!.animation)
        .toBe('zoom');

      // A field the API refuses is named under its control; nothing is stored.
      const duration = ep.getByLabel('Duration (seconds)');
      await duration.fill('0');
      await ep.getByRole('button', { name: 'Save scene 1' }).click();
      await expect
        .poll(() => ep.locator('#scene-s1-duration-error').textContent(), { timeout: 15_000 })
        .toMatch(/>\s*0|positive|small/i);
      expect(await duration.getAttribute('aria-invalid')).toBe('true');
      expect((await stored()).project.scenes.find((s) => s.id === 's1')).toMatchObject({ duration: 2 });
      await ep.getByRole('button', { name: 'Discard changes' }).click();
      expect(await duration.inputValue()).toBe('2');

      // A scene added after the first, then deleted again.
      await ep.getByRole('button', { name: 'Add a scene after scene 1' }).click();
      await expect.poll(async () => (await sceneTexts()).length).toBe(4);
      expect((await sceneTexts())[1]).toBe('(no narration)');
      await ep.getByRole('button', { name: 'Delete scene 2' }).click();
      await expect.poll(sceneTexts).toEqual(['Hello there.', 'Goodbye.', 'A field of wheat.']);
      expect((await stored()).project.scenes.map((s) => s.id)).toEqual(['s1', 's3', 's2']);
    }, 120_000);

    it('fits the editor and the project list on a 390×844 phone, every control labelled', async () => {
      expect(projectId).toBeDefined();
      await ep.goto(url('/projects'));
      await ep.locator('.project-list').waitFor();
      await shot('projects', ep);
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      });
      try {
        const p = await phone.newPage();
        await p.goto(url(`/projects/${projectId}`));
        await p.waitForURL(/\/sign-in/);
        await p.getByLabel('API key').fill(e2e.stack.secrets.apiKey);
        await p.getByRole('button', { name: 'Sign in' }).click();
        await p.getByRole('heading', { name: 'Renamed elsewhere' }).waitFor({ timeout: 30_000 });
        expect(await scrollsSideways(p)).toBe(false);
        // Every form control has a name a screen reader says (its label, or aria-label).
        const unlabelled =
          await p.evaluate(`[...document.querySelectorAll('main input, main select, main textarea, main button')]
          .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
          .map((el) => el.outerHTML.slice(0, 80))`);
        expect(unlabelled).toEqual([]);
        await shot('project-editor-phone', p);
        await p.goto(url('/projects'));
        await p.locator('.project-list').waitFor();
        expect(await scrollsSideways(p)).toBe(false);
        await shot('projects-phone', p);
      } finally {
        await phone.close();
      }
    }, 120_000);
  });
});

/** A 160×120 PNG of one colour, made with ffmpeg. */
function solidPng(file: string, color: string): void {
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=${color}:s=160x120`,
    '-frames:v',
    '1',
    file,
  ]);
}

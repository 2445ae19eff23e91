// The local stack supervises its services (issue 11 §1): each service is SIGKILLed in turn while a
// job needs it, nobody restarts anything by hand, and the job still completes — once, with one
// webhook. The kills are triggered by the job's own events, so each lands while that service has
// the job's message in hand or is about to get it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, EventType, Job } from '@reelbus/contracts';
import { Bus } from '@reelbus/kit';
import { probeFacts } from '@reelbus/kit/testing';
import { makeSampleCall, makeSampleStory, SAMPLE_DIALOG, type SampleCall } from '../sample.ts';
import type { ServiceProcess } from '../stack.ts';
import { submitStory } from '../story.ts';
import { ROOT, startE2E, type E2E } from './harness.ts';
import { countJobEvents, logRecorder, procName } from './observe.ts';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.ts';

type AnyEvent = EventOf<EventType>;
const progress = (step: string, status: string) => (e: AnyEvent) =>
  e.type === 'job.progress' &&
  (e as EventOf<'job.progress'>).data.step === step &&
  (e as EventOf<'job.progress'>).data.status === status;

interface Kill {
  service: string;
  /** The event of the job at which this service is killed (the first one that matches). */
  when: (e: AnyEvent) => boolean;
}

describe('a supervised stack: every service killed in turn during a job', () => {
  let e2e: E2E;
  let bus: Bus;
  let receiver: WebhookReceiver;
  let sample: SampleCall;
  let tmp: string;
  let callJobId: string | undefined;
  const { logs, onLine } = logRecorder();

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'reelbus-supervise-test-'));
    e2e = await startE2E({
      // A short AckWait: a killed service's message is redelivered after 5 s, not 30.
      env: { TMP_DIR: join(tmp, 'work'), CONSUMER_ACK_WAIT_MS: '5000' },
      // The story here has no music: do not spend the test synthesising the sample library.
      // The clip path real providers take (clip.requested → ai-generator → clip.generated → fan-in),
      // rendered by the local provider: the offline default draws the speakers in the Timeline instead.
      serviceEnv: { compositor: { COMPOSITOR_SEED_MUSIC: 'false', CALL_LOCAL_RENDER: 'clips' } },
      readyTimeoutMs: 150_000,
      log: onLine,
    });
    receiver = await startWebhookReceiver({ secret: e2e.stack.secrets.webhookSecret });
    bus = await Bus.connect({
      servers: e2e.stack.natsUrl,
      namespace: e2e.stack.namespace,
      name: 'supervise-test',
    });
    sample = makeSampleCall({ file: join(tmp, 'call.wav'), dialog: SAMPLE_DIALOG.slice(0, 2) });
  }, 240_000);

  afterAll(async () => {
    await bus?.close();
    await receiver?.close();
    await e2e?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /**
   * Kills each service of `plan` at its event, as a crash (the supervisor restarts it). The watch
   * starts before the job is submitted (`ready`), so an event published before the submit call
   * returns is not missed: events are held until `forJob` names the job, then matched in order.
   * `done` resolves with the killed processes and their replacements.
   */
  async function killDuring(plan: Kill[]): Promise<{
    forJob(jobId: string): void;
    done: Promise<Array<{ killed: ServiceProcess; restarted: ServiceProcess }>>;
    stop(): void;
  }> {
    const pending = [...plan];
    const results: Array<Promise<{ killed: ServiceProcess; restarted: ServiceProcess }>> = [];
    let allKilled!: () => void;
    const killedAll = new Promise<void>((r) => (allKilled = r));
    const kill = (service: string) => {
      const victim = e2e.stack.processes.find((p) => p.service === service)!;
      results.push(
        e2e.stack
          .kill(victim)
          .then(async () => ({ killed: victim, restarted: await e2e.stack.restarted(victim) })),
      );
      if (results.length === plan.length) allKilled();
    };
    const onJobEvent = (event: AnyEvent) => {
      for (const k of [...pending]) {
        if (!k.when(event)) continue;
        pending.splice(pending.indexOf(k), 1);
        kill(k.service);
      }
    };
    let target: string | undefined;
    const held: AnyEvent[] = [];
    const watch = bus.watchEvents((event) => {
      if (target === undefined) held.push(event);
      else if (event.jobId === target) onJobEvent(event);
    });
    await watch.ready;
    return {
      forJob: (jobId) => {
        target = jobId;
        for (const event of held.splice(0)) if (event.jobId === jobId) onJobEvent(event);
      },
      done: killedAll.then(() => Promise.all(results)),
      stop: () => watch.stop(),
    };
  }

  /** Follows the job to its end (the client rides out ingest's restart), then waits for every kill's restart. */
  async function follow(
    jobId: string,
    kills: Awaited<ReturnType<typeof killDuring>>,
  ): Promise<{ job: Job; restarts: Array<{ killed: ServiceProcess; restarted: ServiceProcess }> }> {
    const job = await e2e.client.follow(jobId, () => {}, {
      pollMs: 250,
      signal: AbortSignal.timeout(200_000),
    });
    kills.stop();
    let timer: NodeJS.Timeout | undefined;
    const restarts = await Promise.race([
      kills.done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`job ${jobId} ended (${job.status}) before every planned kill and restart happened`),
            ),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return { job, restarts };
  }

  /** Waits (with a deadline) until the notifier has recorded the job's webhook, then returns the deliveries. */
  async function webhooksOf(jobId: string) {
    await receiver.waitFor(jobId, { timeoutMs: 60_000 });
    const deadline = Date.now() + 30_000;
    let job = await e2e.client.getJob(jobId);
    while (!job.notifications.some((n) => n.ok) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      job = await e2e.client.getJob(jobId);
    }
    expect(job.notifications.filter((n) => n.ok)).toHaveLength(1);
    return receiver.forJob(jobId);
  }

  it('completes a call once, with one webhook, while ingest, the splitter, compositor, generator, notifier and encoder each die and come back', async () => {
    const kills = await killDuring([
      { service: 'audio-splitter', when: progress('split', 'started') },
      { service: 'compositor', when: (e) => e.type === 'clip.requested' },
      { service: 'ai-generator', when: progress('generate', 'started') },
      { service: 'notifier', when: (e) => e.type === 'clip.generated' },
      { service: 'encoder', when: progress('encode', 'started') },
      // ingest has answered; it dies while the job runs (the client rides it out, as a user's would).
      { service: 'ingest', when: (e) => e.type === 'audio.split' },
    ]);
    const { jobId } = await e2e.client.submitRecording({ file: sample.file, callbackUrl: receiver.url });
    callJobId = jobId;
    kills.forJob(jobId);
    const { job, restarts } = await follow(jobId, kills);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    // Every service was killed once and its supervisor started a new process; nobody else did.
    expect(restarts.map((r) => r.killed.service).sort()).toEqual(
      ['ai-generator', 'audio-splitter', 'compositor', 'encoder', 'ingest', 'notifier'].sort(),
    );
    for (const { killed, restarted } of restarts) {
      expect(killed.process.signalCode, killed.service).toBe('SIGKILL');
      expect(restarted.process.pid, killed.service).not.toBe(killed.process.pid);
      expect(e2e.stack.processes, killed.service).toContain(restarted);
      const said = logs.filter(
        (l) => l.proc === 'stack' && String(l.rec.msg).startsWith(`${procName(killed)} `),
      );
      expect(
        said.map((l) => l.rec.msg),
        killed.service,
      ).toEqual([
        `${procName(killed)} killed by SIGKILL unexpectedly; restarting it in 1 s (crash 1 in a row; it stays down after 5)`,
        `${procName(killed)} restarted and ready`,
      ]);
    }
    expect(e2e.stack.processes.filter((p) => p.service === 'encoder')).toHaveLength(1);

    // The slow steps were cut off mid-work and done again by the restarted process.
    expect(job.steps.encode?.attempts ?? 1).toBeGreaterThanOrEqual(2);
    expect(job.steps.generate?.attempts ?? 1).toBeGreaterThanOrEqual(2);

    // Exactly once: every pipeline event once (two clips), one final video, one webhook.
    const counts = await countJobEvents(bus, jobId);
    expect(counts).toMatchObject({
      'recording.received': 1,
      'audio.split': 1,
      'clip.requested': 2,
      'clip.generated': 2,
      'timeline.ready': 1,
      'video.encoded': 1,
      'job.completed': 1,
    });
    expect(counts['job.failed']).toBeUndefined();
    const jobDir = join(e2e.stack.blobDir, 'jobs', jobId);
    expect(readdirSync(jobDir).filter((f) => f.endsWith('.mp4'))).toEqual(['final.mp4']);
    expect(Math.abs(probeFacts(join(jobDir, 'final.mp4')).durationSec - sample.durationSec)).toBeLessThan(
      0.1,
    );
    const hooks = await webhooksOf(jobId);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.verified).toBe(true);
    expect(hooks[0]!.body).toMatchObject({ event: 'job.completed', jobId, status: 'completed' });

    // Everything is up again.
    for (const p of e2e.stack.processes) {
      expect(p.process.exitCode, procName(p)).toBeNull();
      expect((await fetch(`http://127.0.0.1:${p.healthPort}/readyz`)).status, procName(p)).toBe(200);
    }
  }, 300_000);

  it('completes a story once when the image converter dies while converting its images', async () => {
    const story = await makeSampleStory({ dir: join(tmp, 'story') });
    const kills = await killDuring([{ service: 'image-converter', when: progress('images', 'started') }]);
    const { jobId } = await submitStory({
      client: { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey },
      ...story,
      music: { mood: 'none' },
      callbackUrl: receiver.url,
    });
    kills.forJob(jobId);
    const {
      job,
      restarts: [restart],
    } = await follow(jobId, kills);
    expect(job.status, JSON.stringify(job.error)).toBe('completed');
    expect(restart!.restarted.process.pid).not.toBe(restart!.killed.process.pid);
    expect(job.steps.images?.status).toBe('completed');
    // Every image made it (the converter's fallback was not needed), and the events happened once.
    expect(job.warnings).toEqual([]);
    const counts = await countJobEvents(bus, jobId);
    expect(counts).toMatchObject({
      'story.received': 1,
      'audio.normalized': 1,
      'images.converted': 1,
      'timeline.ready': 1,
      'video.encoded': 1,
      'job.completed': 1,
    });
    expect(await webhooksOf(jobId)).toHaveLength(1);
  }, 300_000); // a 1080p Ken Burns encode: slow on a loaded 2-core machine

  it('has the CLI print the video path only where the file is, else its signed link', async () => {
    expect(callJobId, 'the call test ran').toBeDefined();
    const jobId = callJobId!;
    const cli = (home: string) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'tools', 'src', 'cli.ts'), 'follow', jobId],
          {
            cwd: ROOT,
            env: {
              ...process.env,
              REELBUS_URL: e2e.stack.ingestUrl,
              REELBUS_API_KEY: e2e.stack.secrets.apiKey,
              REELBUS_HOME: home,
            },
          },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
    const finalFile = join(e2e.stack.blobDir, 'jobs', jobId, 'final.mp4');
    // The stack's own state dir: this machine holds the file.
    const here = (await cli(join(e2e.dir, 'state'))).trim().split('\n');
    expect(here.at(-1)).toBe(realpathSync(finalFile));
    // Another REELBUS_HOME (as with a remote REELBUS_URL): no path that does not exist, the link instead.
    const elsewhere = (await cli(join(tmp, 'another-home'))).trim().split('\n');
    const link = /^link: (\S+)$/.exec(elsewhere.at(-1)!)?.[1];
    expect(link, elsewhere.join('\n')).toMatch(
      new RegExp(`^${e2e.stack.ingestUrl}/v1/jobs/${jobId}/video\\.mp4\\?`),
    );
    expect(elsewhere.join('\n')).not.toContain(finalFile);
    // The link plays without an API key, with Range support.
    const res = await fetch(link!, { headers: { Range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect((await res.arrayBuffer()).byteLength).toBe(100);
  }, 120_000);
});

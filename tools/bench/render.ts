// Chunked rendering on the bus (issue 10 §3): a story-like Timeline (Ken Burns stills, crossfades, a
// title, narration + ducked music) rendered by real encoder processes on a real nats-server, each
// process pinned to one core with `taskset` (its ffmpeg children inherit the pin):
//   - speed-up: two replicas, one per core, rendering the chunks in parallel, against one replica
//     on one core rendering the same chunks one after the other;
//   - overhead: chunked against single-pass on one replica (wall time, and the CPU seconds ffmpeg
//     reports, which a loaded machine disturbs far less than wall time).
// Full run: 5 minutes at 1080p in 30-second chunks (the case; ~30-60 min on 2 cores). Quick:
// 40 s at 540p in 10-second chunks. Nothing is asserted.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { newJob, type EventOf, type TimelineInput } from '@reelbus/contracts';
import { Bus, FsBlobStore, KvJobStore } from '@reelbus/kit';
import { makeImage, makeTone, randomNamespace, startNatsServer } from '@reelbus/kit/testing';
import { tempDir } from './common.ts';
import { storyTimeline } from './encode.ts';
import { row, type Row } from './stats.ts';

interface Scenario {
  name: string;
  /** One entry per encoder replica: the core it is pinned to. */
  cores: number[];
  chunked: boolean;
}

interface RunResult {
  wallSec: number;
  cpuSeconds: number | undefined;
  chunks: number;
}

export async function benchRender(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
  /** Rounds of the three runs (default: 1 quick, 2 full). */
  rounds?: number | undefined;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const seconds = quick ? 40 : 300;
  const size = quick ? { width: 960, height: 540 } : { width: 1920, height: 1080 };
  const chunkSeconds = quick ? 10 : 30;
  const rounds = opts.rounds ?? (quick ? 1 : 2);
  const cores = cpus().length;
  if (cores < 2) throw new Error('the render benchmark needs 2 cores (one per replica)');
  const dir = tempDir('render');
  const server = await startNatsServer();
  const blobs = new FsBlobStore({ root: join(dir, 'blobs') });
  const results: Record<string, RunResult[]> = {};
  try {
    const images = await Promise.all(
      Array.from({ length: Math.round(seconds / 5) }, (_, i) =>
        makeImage({ file: join(dir, `img${i}.jpg`), width: 2048, height: 1536 }),
      ),
    );
    for (const f of images) await blobs.putFile(basename(f), f);
    await blobs.putFile(
      'narration.wav',
      await makeTone({ file: join(dir, 'narration.wav'), seconds, frequency: 330, channels: 1 }),
    );
    await blobs.putFile(
      'music.wav',
      await makeTone({ file: join(dir, 'music.wav'), seconds: 7, frequency: 220, channels: 2 }),
    );
    const timeline = storyTimeline({
      images: images.map((f) => basename(f)),
      narration: 'narration.wav',
      music: 'music.wav',
      seconds,
      size,
    });
    log(
      `render: ${seconds} s story at ${size.width}x${size.height}, ${chunkSeconds}-second chunks, ${rounds} round(s)`,
    );
    const scenarios: Scenario[] = [
      { name: '1 replica, core 0, chunked', cores: [0], chunked: true },
      { name: '2 replicas, cores 0+1, chunked', cores: [0, 1], chunked: true },
      { name: '1 replica, core 0, single pass', cores: [0], chunked: false },
    ];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? scenarios : [...scenarios].reverse();
      for (const s of order) {
        const res = await renderOnce({
          root,
          natsUrl: server.url,
          dir,
          timeline,
          scenario: s,
          chunkSeconds,
          jobId: `bench-${r}-${s.cores.length}-${s.chunked ? 'c' : 's'}`,
        });
        (results[s.name] ??= []).push(res);
        const obtained = res.cpuSeconds !== undefined ? (res.cpuSeconds / res.wallSec).toFixed(2) : '?';
        log(
          `render: ${s.name}: ${res.wallSec.toFixed(1)} s wall, ${res.cpuSeconds?.toFixed(1) ?? '?'} ffmpeg CPU s (${obtained} cores obtained), ${res.chunks} chunk(s)`,
        );
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const wall = (name: string) => (results[name] ?? []).map((r) => r.wallSec);
  const cpu = (name: string) => (results[name] ?? []).map((r) => r.cpuSeconds ?? Number.NaN);
  const [one, two, single] = [
    '1 replica, core 0, chunked',
    '2 replicas, cores 0+1, chunked',
    '1 replica, core 0, single pass',
  ];
  const obtained = (name: string) =>
    (results[name] ?? []).map((r) => (r.cpuSeconds ?? Number.NaN) / r.wallSec);
  const what = `${seconds} s story ${size.width}x${size.height}`;
  const rows: Row[] = [
    row({
      bench: 'render',
      metric: `${what}: 2 replicas (1 core each) vs 1 replica (1 core), wall`,
      unit: 's',
      subject: wall(two!),
      baseline: wall(one!),
      note: `speed-up = 1/ratio (target ≥ 1.8×); ${chunkSeconds}-s chunks`,
    }),
    row({
      bench: 'render',
      metric: `${what}: chunked vs single pass, 1 replica (1 core), wall`,
      unit: 's',
      subject: wall(one!),
      baseline: wall(single!),
      note: 'overhead = ratio (target ≤ 1.05×)',
    }),
    row({
      bench: 'render',
      metric: `${what}: chunked vs single pass, ffmpeg CPU seconds`,
      unit: 'cpu s',
      subject: cpu(one!),
      baseline: cpu(single!),
      note: 'every ffmpeg run of the render (chunks, audio, join, poster), from ffmpeg -benchmark',
    }),
    row({
      bench: 'render',
      metric: `${what}: cores the render obtained (ffmpeg CPU s / wall s), 2 replicas vs 1`,
      unit: 'cores',
      subject: obtained(two!),
      baseline: obtained(one!),
      note: 'near 2 and 1 on an idle machine; far lower when other work holds the cores',
    }),
  ];
  return { rows, raw: { seconds, size, chunkSeconds, rounds, results } };
}

/** Starts the scenario's encoders (pinned), renders the Timeline once, stops them. */
async function renderOnce(opts: {
  root: string;
  natsUrl: string;
  dir: string;
  timeline: TimelineInput;
  scenario: Scenario;
  chunkSeconds: number;
  jobId: string;
}): Promise<RunResult> {
  const { root, natsUrl, dir, timeline, scenario, chunkSeconds, jobId } = opts;
  // A fresh namespace per run: its own streams, consumers and job bucket.
  const namespace = randomNamespace();
  const bus = await Bus.connect({ servers: natsUrl, namespace, name: 'bench' });
  const children: ChildProcess[] = [];
  try {
    await bus.ensureStreams();
    const jobs = await KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
    await Promise.all(
      scenario.cores.map((core, replica) =>
        startEncoder({
          root,
          core,
          children,
          env: {
            NATS_URL: natsUrl,
            REELBUS_NAMESPACE: namespace,
            BLOB_DIR: join(dir, 'blobs'),
            TMP_DIR: join(dir, `tmp-${replica}`),
            HEALTH_HOST: '127.0.0.1',
            HEALTH_PORT: '0',
            JOB_STORE: 'kv',
            // single pass: a threshold no Timeline reaches
            CHUNK_THRESHOLD_SEC: scenario.chunked ? '1' : '86400',
            CHUNK_SECONDS: String(chunkSeconds),
            CHUNK_CONCURRENCY: '1',
            REELBUS_REPLICA: String(replica),
          },
        }),
      ),
    );
    await jobs.create(newJob({ id: jobId, kind: 'render' }));
    let chunks = 0;
    const done = new Promise<EventOf<'video.encoded'>>((resolve, reject) => {
      const w = bus.watchJob(jobId, (e) => {
        if (e.type === 'render.chunk.requested') chunks++;
        if (e.type === 'video.encoded') {
          void w.stop();
          resolve(e as EventOf<'video.encoded'>);
        }
        if (e.type === 'job.failed') {
          void w.stop();
          reject(new Error(`render bench: the job failed: ${JSON.stringify(e.data)}`));
        }
      });
    });
    const t = performance.now();
    await bus.publish(
      'timeline.ready',
      jobId,
      { kind: 'render', timeline },
      { id: `timeline.ready:${jobId}` },
    );
    const encoded = await done;
    return { wallSec: (performance.now() - t) / 1000, cpuSeconds: encoded.data.cpuSeconds, chunks };
  } finally {
    await Promise.all(children.map(stop));
    await bus.close();
  }
}

/** An encoder process under `taskset -c <core>`; resolves once it consumes every render event. */
function startEncoder(opts: {
  root: string;
  core: number;
  env: Record<string, string>;
  children: ChildProcess[];
}): Promise<void> {
  const { root, core, env, children } = opts;
  const child = spawn(
    'taskset',
    ['-c', String(core), process.execPath, '--import', 'tsx', join(root, 'services/encoder/src/main.ts')],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let tail = '';
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      tail = (tail + line + '\n').slice(-4000);
      // the last of main.ts's three consume loops
      if (line.includes('"msg":"consuming"') && line.includes('render.audio.rendered')) resolve();
    });
    child.stderr!.on('data', (b: Buffer) => (tail = (tail + b.toString()).slice(-4000)));
    child.once('exit', (code) => reject(new Error(`encoder on core ${core} exited with ${code}:\n${tail}`)));
  });
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.removeAllListeners('exit');
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });
}

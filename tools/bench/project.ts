// 7. Scene projects (issue 13): a 5-minute project (25 scenes, 303 s: the e2e test's project, there
// at 480p/15 fps) rendered at 1080p30 on the embedded stack with the offline providers, in 30-second
// chunks: render request → job.completed (voiceovers, a drawn picture and the music made first, then
// the Timeline, the chunks, the join), its real-time factor and chunk count, the split at
// `timeline.ready`, and the encoder's CPU-seconds (the figure a loaded machine disturbs least).
// Quick: 6 scenes (~70 s) at 540p. Nothing is asserted.
import { basename, join } from 'node:path';
import type { Job } from '@reelbus/contracts';
import { FsBlobStore } from '@reelbus/kit';
import { makeImage } from '@reelbus/kit/testing';
import { longProjectSpec, projectApi, renderProject, type Revisioned } from '../src/project.ts';
import { startBenchStack, tempDir } from './common.ts';
import { row, type Row } from './stats.ts';

/** Seconds per chunk: the encoder's default (CHUNK_SECONDS). */
const CHUNK_SECONDS = 30;
/** Longest wait for one render (a loaded 2-core machine renders 5 minutes of 1080p slowly). */
const RENDER_TIMEOUT_MS = 90 * 60_000;

interface ProjectRun {
  videoSec: number;
  totalSec: number;
  /** Render request → timeline.ready: assets made, narration mixed, Timeline written. */
  prepareSec: number | undefined;
  chunks: number | undefined;
  encodeCpuSec: number | undefined;
  ok: boolean;
  error?: string;
}

export async function benchProject(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const output = quick ? { shortSide: 540, fps: 30 } : { shortSide: 1080, fps: 30 };
  const dir = tempDir('project');
  const bench = await startBenchStack({
    root,
    serviceEnv: { encoder: { CHUNK_SECONDS: String(CHUNK_SECONDS) } },
  });
  const runs: ProjectRun[] = [];
  try {
    const blobs = new FsBlobStore({ root: bench.stack.blobDir });
    const stills = await Promise.all(
      [undefined, '#2a5d8f'].map((color, i) =>
        makeImage({
          file: join(dir, `still-${i}.png`),
          width: 2048,
          height: 1536,
          ...(color ? { color } : {}),
        }),
      ),
    );
    for (const f of stills) await blobs.putFile(`bench/${basename(f)}`, f);
    const long = longProjectSpec({
      visuals: [
        { key: 'bench/still-0.png' },
        { model: 'local-image', params: { prompt: 'a lighthouse at dusk' } },
        { key: 'bench/still-1.png' },
      ],
      overlay: { key: 'bench/still-1.png' },
      output,
      ...(quick ? { scenes: 6 } : {}),
    });
    const client = { baseUrl: bench.stack.ingestUrl, apiKey: bench.stack.secrets.apiKey };
    const created = await projectApi<Revisioned>({
      client,
      method: 'POST',
      path: '/v1/projects',
      body: long.spec,
    });
    log(
      `project: ${long.durationSec} s (${long.sceneSec} s of scenes less ${long.transitionSec} s of transitions) at ${output.shortSide}p${output.fps}; rendering`,
    );
    const t0 = performance.now();
    const { jobId } = await renderProject(client, created.projectId, 'render');
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      bench.watcher.done(jobId),
      new Promise<never>(
        (_, rej) =>
          (timer = setTimeout(
            () => rej(new Error(`job ${jobId} did not finish in ${RENDER_TIMEOUT_MS / 60_000} min`)),
            RENDER_TIMEOUT_MS,
          )),
      ),
    ]).finally(() => clearTimeout(timer));
    const totalSec = (end.at - t0) / 1000;
    const ready = bench.watcher.seen.get(jobId)?.get('timeline.ready');
    const job: Job = await bench.client.getJob(jobId);
    const run: ProjectRun = {
      videoSec: job.outputs.video?.durationSec ?? long.durationSec,
      totalSec,
      prepareSec: ready !== undefined ? (ready - t0) / 1000 : undefined,
      chunks: job.progressDetail?.chunks?.total,
      encodeCpuSec: job.cost?.cpuSeconds,
      ok: end.type === 'job.completed',
      ...(job.error ? { error: job.error.reason } : {}),
    };
    runs.push(run);
    log(
      `project: ${run.ok ? 'completed' : `FAILED (${run.error})`} in ${totalSec.toFixed(1)} s for ${run.videoSec.toFixed(2)} s of video ` +
        `(${(run.videoSec / totalSec).toFixed(3)}× real time), ${run.chunks ?? '?'} chunks, prepare ${run.prepareSec?.toFixed(1) ?? '?'} s, ` +
        `encoder ${run.encodeCpuSec?.toFixed(0) ?? '?'} CPU-s`,
    );
  } finally {
    await bench.close();
  }
  const ok = runs.filter((r) => r.ok);
  const label = `${quick ? '~70 s' : '5-minute'} project at ${output.shortSide}p${output.fps}`;
  const rows: Row[] = [];
  const add = (metric: string, unit: string, subject: number[], note?: string) => {
    if (subject.length)
      rows.push(
        row({ bench: 'project', metric: `${label}: ${metric}`, unit, subject, ...(note ? { note } : {}) }),
      );
  };
  const first = ok[0];
  add(
    'render request → job.completed',
    's',
    ok.map((r) => r.totalSec),
    first && `${first.chunks ?? '?'} chunks of ${CHUNK_SECONDS} s; ${first.videoSec.toFixed(2)} s of video`,
  );
  add(
    'real-time factor (video seconds per wall second)',
    '×',
    ok.map((r) => r.videoSec / r.totalSec),
  );
  add(
    'assets and Timeline (request → timeline.ready)',
    's',
    ok.flatMap((r) => r.prepareSec ?? []),
  );
  add(
    'encoder ffmpeg CPU-seconds (chunks, audio, join)',
    'CPU-s',
    ok.flatMap((r) => r.encodeCpuSec ?? []),
  );
  add(
    'chunks',
    'chunks',
    ok.flatMap((r) => r.chunks ?? []),
  );
  return { rows, raw: { output, chunkSeconds: CHUNK_SECONDS, runs } };
}

// 2. Pipeline overhead: a stereo call through the embedded stack (upload → job.completed) against a bash
// script of the same ffmpeg commands on the same file (split; both speaker cards in parallel; final
// encode), alternating. Plus the 2-minute story when that pipeline exists.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeCall, plainCallScript, runCallJob, runPlainScript, startBenchStack, tempDir } from './common.ts';
import { row, type Row } from './stats.ts';

/** Pipeline steps as seen on the bus, ms from the upload; the plain script's steps for comparison. */
function pipelineSteps(s: Record<string, number>): {
  split: number;
  clips: number;
  encode: number;
  tail: number;
  firstClip: number;
  lastClip: number;
} {
  const split = s['audio.split'] ?? Number.NaN;
  const firstClip = (s['clip.generated'] ?? Number.NaN) - split;
  const lastClip = (s['clip.generated#last'] ?? Number.NaN) - split;
  const clips = s['timeline.ready'] ?? Number.NaN;
  const encoded = s['video.encoded'] ?? Number.NaN;
  const done = s['job.completed'] ?? Number.NaN;
  return { split, clips: clips - split, encode: encoded - clips, tail: done - encoded, firstClip, lastClip };
}

export function storyAvailable(root: string): boolean {
  if (!existsSync(join(root, 'services', 'image-converter', 'src', 'main.ts'))) return false;
  const routes = join(root, 'services', 'ingest', 'src', 'routes');
  const compositor = join(root, 'services', 'compositor', 'src');
  const mentions = (dir: string, re: RegExp) =>
    existsSync(dir) &&
    readdirSync(dir).some(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && re.test(readFileSync(join(dir, f), 'utf8')),
    );
  // the story is end to end only when ingest takes it AND the compositor turns it into a Timeline
  return mentions(routes, /\/v1\/stories/) && mentions(compositor, /images\.converted|story\.received/);
}

export async function benchPipeline(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const seconds = quick ? 20 : 60;
  const rounds = quick ? 1 : 2;
  const dir = tempDir('pipeline');
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { seconds, rounds };
  try {
    const call = await makeCall({ dir, seconds });
    const warm = await makeCall({ dir, seconds: 4, name: 'warmup.wav' });
    log(`pipeline: ${call.durationSec.toFixed(1)} s call; starting the stack`);
    // Two stacks side by side: the defaults, and the defaults with the ai-generator working on both
    // speaker clips at once (WORK_CONCURRENCY=2), to show what serial clip rendering costs.
    let t = performance.now();
    const [bench, tuned] = await Promise.all([
      startBenchStack({ root }),
      startBenchStack({ root, serviceEnv: { 'ai-generator': { WORK_CONCURRENCY: '2' } } }),
    ]);
    log(`pipeline: stacks ready in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const reel: Array<{ totalMs: number; steps: Record<string, number> }> = [];
    const reel2: Array<{ totalMs: number; steps: Record<string, number> }> = [];
    const plain: Array<{ totalMs: number; steps: Record<string, number> }> = [];
    const runJob = async (b: typeof bench, into: typeof reel, name: string) => {
      const res = await runCallJob({ bench: b, file: call.file });
      if (!res.ok)
        throw new Error(
          `job ${res.jobId} failed: ${b.logs
            .filter((l) => /error|fail/i.test(l))
            .slice(-5)
            .join('\n')}`,
        );
      into.push(res);
      log(`pipeline: ${name} ${(res.totalMs / 1000).toFixed(1)} s`);
    };
    try {
      t = performance.now();
      for (const b of [bench, tuned]) {
        const w = await runCallJob({ bench: b, file: warm.file });
        if (!w.ok) throw new Error(`warm-up job ${w.jobId} failed`);
      }
      log(`pipeline: warm-up jobs ${((performance.now() - t) / 1000).toFixed(1)} s`);
      for (let r = 0; r < rounds; r++) {
        const arms = ['reelbus', 'plain', 'tuned'] as const;
        const order = r % 2 === 0 ? arms : ([...arms].reverse() as unknown as typeof arms);
        for (const which of order) {
          if (which === 'reelbus') await runJob(bench, reel, 'reelbus');
          else if (which === 'tuned') await runJob(tuned, reel2, 'reelbus, ai-generator WORK_CONCURRENCY=2');
          else {
            const work = join(dir, `plain-${r}`);
            const { script } = await plainCallScript({ input: call.file, dir: work });
            const res = await runPlainScript({ script, dir: work });
            plain.push(res);
            rmSync(work, { recursive: true, force: true });
            log(`pipeline: plain ffmpeg ${(res.totalMs / 1000).toFixed(1)} s`);
          }
        }
      }
      raw.script = (await plainCallScript({ input: call.file, dir: join(dir, 'script') })).script;
    } finally {
      await Promise.all([bench.close(), tuned.close()]);
    }
    raw.reelbusTuned = reel2;
    raw.reelbus = reel;
    raw.plain = plain;
    const label = `${seconds} s call`;
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: upload→job.completed vs plain script`,
        unit: 's',
        subject: reel.map((x) => x.totalMs / 1000),
        baseline: plain.map((x) => x.totalMs / 1000),
      }),
    );
    const rs = reel.map((x) => pipelineSteps(x.steps));
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: upload+split → audio.split`,
        unit: 's',
        subject: rs.map((x) => x.split / 1000),
        baseline: plain.map((x) => x.steps.split! / 1000),
      }),
    );
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: clips → timeline.ready`,
        unit: 's',
        subject: rs.map((x) => x.clips / 1000),
        baseline: plain.map((x) => x.steps.clips! / 1000),
        note: `plain renders both cards in parallel; reelbus: 1st clip.generated after ${(rs.map((x) => x.firstClip / 1000).sort((a, b) => a - b)[0] ?? Number.NaN).toFixed(1)} s, 2nd after ${(rs.map((x) => x.lastClip / 1000).sort((a, b) => a - b)[0] ?? Number.NaN).toFixed(1)} s`,
      }),
    );
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: encode → video.encoded`,
        unit: 's',
        subject: rs.map((x) => x.encode / 1000),
        baseline: plain.map((x) => x.steps.encode! / 1000),
      }),
    );
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}: video.encoded → job.completed`,
        unit: 's',
        subject: rs.map((x) => x.tail / 1000),
      }),
    );
    const rs2 = reel2.map((x) => pipelineSteps(x.steps));
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}, ai-generator WORK_CONCURRENCY=2: total vs plain`,
        unit: 's',
        subject: reel2.map((x) => x.totalMs / 1000),
        baseline: plain.map((x) => x.totalMs / 1000),
        note: 'what running both clips at once would give',
      }),
    );
    rows.push(
      row({
        bench: 'pipeline',
        metric: `${label}, ai-generator WORK_CONCURRENCY=2: clips`,
        unit: 's',
        subject: rs2.map((x) => x.clips / 1000),
        baseline: plain.map((x) => x.steps.clips! / 1000),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (storyAvailable(root)) {
    log('story: the story pipeline is present, but this benchmark does not drive it yet');
    rows.push(
      row({
        bench: 'pipeline',
        metric: '2 min story vs plain script',
        unit: 's',
        subject: [],
        note: 'story: pipeline present, not benchmarked yet',
      }),
    );
  } else {
    log('story: not available yet');
    rows.push(
      row({
        bench: 'pipeline',
        metric: '2 min story vs plain script',
        unit: 's',
        subject: [],
        note: 'story: not available yet',
      }),
    );
  }
  return { rows, raw };
}

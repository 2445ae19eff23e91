// The merge benchmark: the reference compiled 3 clips (6.75 MB) in 0.55 s with `ffmpeg -f concat -c
// copy`. Measured here: reelbus's media time for the same case (mergeClips: probe + compare + join
// the pictures and the sound by stream copy), the join alone (target ≤ 0.3 s), and a plain
// `ffmpeg -f concat -safe 0 -i list -c copy -movflags +faststart` of the same files as the baseline,
// alternating in the same run. Also one odd clip among the three (the normalise path).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeClips } from '@reelbus/encoder';
import { tempDir } from './common.ts';
import { row, type Row } from './stats.ts';

/** A clip like a generated take: 1280x720 30 fps, H.264 High ~2 Mb/s, AAC 128k; 8 s ≈ 2.25 MB. */
function makeTake(file: string, seconds: number, hz: number, size = '1280x720'): string {
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${hz}:sample_rate=48000:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-profile:v',
    'high',
    '-b:v',
    '2M',
    '-maxrate',
    '2.2M',
    '-bufsize',
    '4M',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-ac',
    '2',
    '-movflags',
    '+faststart',
    file,
  ]);
  return file;
}

export async function benchMerge(opts: {
  quick: boolean;
  log: (s: string) => void;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log } = opts;
  const dir = tempDir('merge');
  try {
    const files = [1, 2, 3].map((i) => makeTake(join(dir, `take-${i}.mp4`), 8, 300 + 100 * i));
    const mb = files.reduce((s, f) => s + statSync(f).size, 0) / 1e6;
    const odd = makeTake(join(dir, 'odd.mp4'), 8, 700, '960x540');
    log(`merge: 3 takes, ${mb.toFixed(2)} MB`);
    const rounds = quick ? 5 : 15;
    const media: number[] = [];
    const join_: number[] = [];
    const plain: number[] = [];
    const normalise: number[] = [];
    const inputs = (list: string[]) => list.map((file, i) => ({ file, label: `clips[${i}]`, shown: file }));
    for (let r = 0; r < rounds; r++) {
      // reelbus
      const w = mkdtempSync(join(dir, 'w-'));
      const t = performance.now();
      const res = await mergeClips({ inputs: inputs(files), output: join(w, 'out.mp4'), workDir: w });
      media.push((performance.now() - t) / 1000);
      join_.push(res.timings.joinMs / 1000);
      if (res.plan.mode !== 'copy')
        throw new Error(`merge bench: expected a copy join, got ${res.plan.mode}`);
      rmSync(w, { recursive: true, force: true });
      // plain ffmpeg, as the reference ran it
      const list = join(dir, 'list.txt');
      writeFileSync(list, files.map((f) => `file '${f}'`).join('\n'));
      const t2 = performance.now();
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'concat',
        '-safe',
        '0',
        '-i',
        list,
        '-c',
        'copy',
        '-movflags',
        '+faststart',
        join(dir, 'plain.mp4'),
      ]);
      plain.push((performance.now() - t2) / 1000);
      if (r < (quick ? 1 : 3)) {
        const w2 = mkdtempSync(join(dir, 'n-'));
        const t3 = performance.now();
        await mergeClips({
          inputs: inputs([files[0]!, odd, files[2]!]),
          output: join(w2, 'out.mp4'),
          workDir: w2,
        });
        normalise.push((performance.now() - t3) / 1000);
        rmSync(w2, { recursive: true, force: true });
      }
    }
    const rows = [
      row({
        bench: 'merge',
        metric: `3 takes (${mb.toFixed(2)} MB), whole merge (probe+compare+join)`,
        unit: 's',
        subject: media,
        baseline: plain,
        note: 'baseline: plain ffmpeg -f concat -c copy (A/V drifts); reference 0.55 s',
      }),
      row({
        bench: 'merge',
        metric: '3 takes, the join alone (one ffmpeg: pictures + sound, copy)',
        unit: 's',
        subject: join_,
        baseline: plain,
        note: 'target ≤ 0.3 s',
      }),
      row({
        bench: 'merge',
        metric: '3 takes, one 960x540 among them (re-encoded)',
        unit: 's',
        subject: normalise,
        note: '8 s of 960x540 → 1280x720 x264 veryfast',
      }),
    ];
    return { rows, raw: { megabytes: mb, media, join: join_, plain, normalise } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

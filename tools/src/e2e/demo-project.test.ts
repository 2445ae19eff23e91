// `npm run reelbus -- demo project`, as a user runs it (issue 13's "done when"): the CLI starts its own
// embedded stack, creates the 6-scene demo project, edits it (reorder, product overlay, music volume,
// undo), previews and renders it and prints the MP4's path. REELBUS_DEMO_SHORT_SIDE=360 keeps the final
// render small. The project as the API shows it after the edits is printed by the demo (its stack stops
// with it); the MP4s are checked with ffprobe: their size, frame rate and length (the brand cards, the
// voiceovers the demo made plus their pause, the quiet scene, less the transitions).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isFaststart, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoProjectSpec } from '../project.ts';
import { ROOT } from './harness.ts';

const exec = promisify(execFile);
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'reelbus-demo-project-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

interface DemoScene {
  id: string;
  narration: string;
  duration?: number;
  transition?: { duration: number };
}

/**
 * The video's length by the compositor's rule: a narrated scene lasts its voiceover plus 0.6 s (at
 * least 2 s), a quiet one its own duration; each transition overlaps two scenes; brand cards around.
 */
function expectedSeconds(voiceoverSec: number[]): number {
  const spec = demoProjectSpec() as {
    scenes: DemoScene[];
    brand: { intro: { duration: number }; outro: { duration: number } };
  };
  const quiet = spec.scenes.filter((s) => !s.narration).reduce((n, s) => n + s.duration!, 0);
  const narrated = voiceoverSec.reduce((n, v) => n + Math.max(2, v + 0.6), 0);
  const transitions = spec.scenes.reduce((n, s) => n + (s.transition?.duration ?? 0), 0);
  return spec.brand.intro.duration + narrated + quiet - transitions + spec.brand.outro.duration;
}

describe('npm run reelbus -- demo project (offline)', () => {
  it('creates, edits, previews and renders the 6-scene project and prints the MP4s', async () => {
    const { stdout } = await exec(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), 'demo', 'project'],
      {
        cwd: ROOT,
        env: { ...process.env, REELBUS_HOME: home, REELBUS_DEMO_SHORT_SIDE: '360' },
        timeout: 400_000,
      },
    );
    const projectId = /^project (prj_\S+) \(revision 1\)$/m.exec(stdout)?.[1];
    expect(projectId, stdout).toBeDefined();
    // The edits, then the project as GET /v1/projects/:id answers after them: "problem" and "product"
    // swapped, the overlay on "product", the volume change undone (redo can bring it back).
    expect(stdout).toMatch(/reordered scenes → revision 2/);
    expect(stdout).toMatch(/undo "change music volume" → revision 5/);
    expect(stdout).toMatch(/^ {2}scenes: open, product, problem, detail, quiet4, close$/m);
    expect(stdout).toMatch(/^ {2}overlays: product$/m);
    expect(stdout).toMatch(/^ {2}music volume: 0\.15$/m);
    expect(stdout).toMatch(/^ {2}revision 5; 2 to undo: .+; 1 to redo: "change music volume"$/m);
    expect(stdout).toMatch(/^preview of revision 5: job \S+$/m);
    expect(stdout).toMatch(/^render of revision 5: job \S+$/m);

    const videos = stdout.split('\n').filter((l) => /\/jobs\/[^/]+\/final\.mp4$/.test(l));
    expect(videos, stdout).toHaveLength(2);
    const [preview, final] = videos as [string, string];
    // the last line is the final render's path, in the demo's own REELBUS_HOME
    expect(stdout.trim().split('\n').at(-1)).toBe(final);
    expect(final).toContain('reelbus-demo-project-');
    for (const f of [preview, final]) expect(existsSync(f)).toBe(true);

    // The voiceovers and the overlay the edits asked for, drawn into the project's assets.
    const assets = join(home, 'blobs/projects', projectId!, 'assets');
    const files = readdirSync(assets);
    expect(files.filter((f) => f.startsWith('overlay-'))).toHaveLength(1);
    const voiceovers = files.filter((f) => f.startsWith('voiceover-')).map((f) => join(assets, f));
    expect(voiceovers).toHaveLength(5);
    const seconds = expectedSeconds(voiceovers.map((f) => probeFacts(f).durationSec));

    const p = probeFacts(preview);
    // a preview is 480p or the final size when that is smaller
    expect(p.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(p.video?.fps).toBeCloseTo(15, 3);
    const r = probeFacts(final);
    expect(r.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(r.video?.fps).toBeCloseTo(30, 3);
    expect(r.audio).toMatchObject({ codec: 'aac', channels: 2 });
    expect(stdout).toMatch(/^video: 640x360, [\d.]+ s, [\d.]+ MB$/m);
    // each scene snapped to whole frames: a frame or so apart per scene at most
    for (const facts of [p, r]) expect(Math.abs(facts.durationSec - seconds)).toBeLessThanOrEqual(0.3);
    expect(isFaststart(final)).toBe(true);
  }, 420_000);
});

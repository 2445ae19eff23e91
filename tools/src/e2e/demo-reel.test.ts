// `npm run reelbus -- demo reel`, as a user runs it (issue 12's "done when"): the CLI starts its own embedded
// stack (nats-server, notifier, ai-generator, encoder, ingest), creates a 3-section reel of offline `local`
// videos, waits for the takes, approves each, compiles them through the encoder's merge and prints the
// MP4's path. The file is checked with ffprobe: the three sections' lengths summed, H.264/AAC, faststart.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isFaststart, probeFacts } from '@reelbus/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoReelSpec } from '../reel.ts';
import { ROOT } from './harness.ts';

const exec = promisify(execFile);
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'reelbus-demo-reel-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('npm run reelbus -- demo reel (offline)', () => {
  it('generates three takes, approves them, compiles them into one MP4 and prints its path', async () => {
    const { stdout } = await exec(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tools/src/cli.ts'), 'demo', 'reel'],
      { cwd: ROOT, env: { ...process.env, REELBUS_HOME: home }, timeout: 400_000 },
    );
    const lines = stdout.trim().split('\n');
    for (const s of ['s1', 's2', 's3']) expect(stdout).toMatch(new RegExp(`approved ${s} t1`));
    expect(stdout).toMatch(/video: 640x360, [\d.]+ s, [\d.]+ MB, 3 clips joined/);
    const mp4 = lines.at(-1)!;
    expect(mp4).toMatch(/\/jobs\/[^/]+\/final\.mp4$/);
    // in the demo's own REELBUS_HOME (realpath: tmpdir may be a symlink)
    expect(mp4).toContain('reelbus-demo-reel-');
    expect(existsSync(mp4)).toBe(true);

    const facts = probeFacts(mp4);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(facts.audio).toMatchObject({ codec: 'aac', channels: 2 });
    const sum = demoReelSpec().sections.reduce((n, s) => n + Number(s.params?.duration), 0);
    expect(Math.abs(facts.durationSec - sum)).toBeLessThanOrEqual(0.15);
    expect(isFaststart(mp4)).toBe(true);
  }, 420_000);
});

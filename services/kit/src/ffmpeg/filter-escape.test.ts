import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeFilterValue, filterPath } from './filter-escape.ts';
import { runFfmpeg } from './run.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelbus-escape-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The value ffmpeg's option parser ends up with, read back through the metadata filter's log. */
async function roundTrip(escaped: string): Promise<string | undefined> {
  const lines: string[] = [];
  await runFfmpeg({
    step: 'test',
    args: [
      '-f',
      'lavfi',
      '-i',
      'color=c=black:s=16x16:d=0.04',
      '-filter_complex',
      `[0:v]metadata=mode=add:key=reelbus_value:value=${escaped},metadata=mode=print[v]`,
      '-map',
      '[v]',
      '-f',
      'null',
      '-',
    ],
    onStderrLine: (line) => lines.push(line),
  });
  const hit = lines.find((l) => l.includes('reelbus_value='));
  return hit?.slice(hit.indexOf('reelbus_value=') + 'reelbus_value='.length);
}

describe('escapeFilterValue', () => {
  it('escapes for the option parser, then for the graph parser', () => {
    expect(escapeFilterValue('a:b')).toBe('a\\\\:b');
    expect(escapeFilterValue("it's")).toBe("it\\\\\\'s");
    expect(escapeFilterValue('x,y;[z]')).toBe('x\\,y\\;\\[z\\]');
    expect(escapeFilterValue('plain text')).toBe('plain text');
  });

  it.each(["it's 10:30, [live]; ok", 'back\\slash', 'a:b:c', 'semi;colon,comma'])(
    'gets %j through -filter_complex unchanged',
    async (text) => {
      expect(await roundTrip(escapeFilterValue(text))).toBe(text);
    },
  );
});

describe('filterPath', () => {
  it('quotes a path and escapes its colons and backslashes', () => {
    expect(filterPath('/w/label.txt')).toBe("'/w/label.txt'");
    expect(filterPath('/w/a:b/label.txt')).toBe("'/w/a\\:b/label.txt'");
    expect(filterPath('C:\\fonts\\x.ttf')).toBe("'C\\:\\\\fonts\\\\x.ttf'");
  });

  it.each(['/tmp/a:b, [c]; d.txt', "/tmp/it's here.txt", '/tmp/plain.txt'])(
    'gets the path %j through -filter_complex unchanged',
    async (path) => {
      expect(await roundTrip(filterPath(path))).toBe(path);
    },
  );

  it('lets drawtext read a text file whose path has quotes, colons, commas and brackets', async () => {
    const file = join(dir, "it's: a, [label].txt");
    await writeFile(file, 'Caller');
    await expect(
      runFfmpeg({
        step: 'test',
        args: [
          '-f',
          'lavfi',
          '-i',
          'color=c=black:s=64x64:d=0.04',
          '-filter_complex',
          `[0:v]drawtext=fontfile=${filterPath('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf')}:textfile=${filterPath(file)}:fontcolor=white[v]`,
          '-map',
          '[v]',
          '-f',
          'null',
          '-',
        ],
      }),
    ).resolves.toMatchObject({ elapsedMs: expect.any(Number) as number });
  });
});

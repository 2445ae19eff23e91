import { describe, expect, it } from 'vitest';
import { buildSplitArgs, buildSplitFilter } from './split.ts';

describe('split arguments', () => {
  it('splits stereo into caller (left) and callee (right) chains, measuring each, in one graph', () => {
    expect(
      buildSplitFilter({
        outputs: [
          { role: 'caller', channel: 0 },
          { role: 'callee', channel: 1 },
        ],
      }),
    ).toBe(
      '[0:a:0]asplit=2[s0][s1];' +
        '[s0]pan=mono|c0=c0,volumedetect@caller[caller];' +
        '[s1]pan=mono|c0=c1,volumedetect@callee[callee]',
    );
  });

  it('takes mono input as one caller chain', () => {
    expect(buildSplitFilter({ outputs: [{ role: 'caller', channel: 0 }] })).toBe(
      '[0:a:0]pan=mono|c0=c0,volumedetect@caller[caller]',
    );
  });

  it('writes each chain as mono 48 kHz 16-bit PCM WAV to its own file', () => {
    const args = buildSplitArgs({
      input: '/in/rec.wav',
      outputs: [
        { role: 'caller', channel: 0, file: '/t/caller.wav' },
        { role: 'callee', channel: 1, file: '/t/callee.wav' },
      ],
    });
    expect(args.slice(0, 2)).toEqual(['-i', '/in/rec.wav']);
    const out = ['-ac', '1', '-ar', '48000', '-c:a', 'pcm_s16le', '-map_metadata', '-1', '-f', 'wav'];
    expect(args.slice(4)).toEqual([
      '-map',
      '[caller]',
      ...out,
      '/t/caller.wav',
      '-map',
      '[callee]',
      ...out,
      '/t/callee.wav',
    ]);
  });
});

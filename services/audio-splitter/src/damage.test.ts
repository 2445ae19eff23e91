import { describe, expect, it } from 'vitest';
import {
  DecodeErrorTally,
  decodeErrorReason,
  findDecodeGaps,
  judgeDecodedAudio,
  lossToleranceSec,
  wavDeclaredSec,
  type DecodeReport,
} from './damage.ts';

const input = 'the recording recording.mp3';
const report = (r: Partial<DecodeReport>): DecodeReport => ({
  input,
  declaredSec: 10,
  decodedSec: 10,
  decodeErrors: 0,
  ...r,
});

describe('judgeDecodedAudio', () => {
  it.each([
    ['a whole file', report({}), 'ok'],
    ['a few ms of codec padding short', report({ declaredSec: 10.03, decodedSec: 10.0 }), 'ok'],
    ['0.5 s short of 10 s (the 0.5 s floor)', report({ decodedSec: 9.5 }), 'ok'],
    ['0.51 s short of 10 s', report({ decodedSec: 9.49 }), 'warn'],
    ['2 % short of 100 s', report({ declaredSec: 100, decodedSec: 98 }), 'ok'],
    ['2.5 % short of 100 s', report({ declaredSec: 100, decodedSec: 97.5 }), 'warn'],
    ['longer than declared (a VBR estimate)', report({ declaredSec: 10, decodedSec: 12 }), 'ok'],
    ['no declared duration', report({ declaredSec: undefined, decodedSec: 3 }), 'ok'],
    ['whole, but with one decode error', report({ decodeErrors: 1 }), 'warn'],
    ['half of it, with errors', report({ decodedSec: 5, decodeErrors: 12 }), 'warn'],
    ['nothing decoded', report({ decodedSec: 0, decodeErrors: 40 }), 'fail'],
    ['0.26 s of 10 s', report({ decodedSec: 0.26, decodeErrors: 24 }), 'fail'],
    ['0.5 s of 10 s (usable, barely)', report({ decodedSec: 0.5 }), 'warn'],
    ['a short healthy file (not damaged)', report({ declaredSec: 0.3, decodedSec: 0.3 }), 'ok'],
  ])('%s → %s', (_name, r, verdict) => {
    expect(judgeDecodedAudio(r).verdict).toBe(verdict);
  });

  it('says which file lost how much, and where the audio that decoded ends', () => {
    const v = judgeDecodedAudio(report({ declaredSec: 10.03, decodedSec: 4.99 }));
    expect(v).toEqual({
      verdict: 'warn',
      lostSec: 5.04,
      message:
        'the recording recording.mp3 is damaged: 5.04 s of its 10.03 s could not be decoded ' +
        '(the audio that decoded ends at 4.99 s). The video uses the 4.99 s that decoded.',
    });
  });

  it('names the decode errors, where they are and what ffmpeg said', () => {
    const v = judgeDecodedAudio(
      report({
        declaredSec: 10.03,
        decodedSec: 4.99,
        decodeErrors: 7,
        errorReason: 'Invalid data found when processing input',
        errorAtSec: [4.99],
      }),
    );
    expect(v.verdict === 'warn' && v.message).toBe(
      'the recording recording.mp3 is damaged: 5.04 s of its 10.03 s could not be decoded (the audio ' +
        'that decoded ends at 4.99 s); 7 decode errors at 4.99 s (ffmpeg: Invalid data found when ' +
        'processing input). The video uses the 4.99 s that decoded.',
    );
  });

  it('lists at most five places, as clock times past a minute', () => {
    const v = judgeDecodedAudio(
      report({
        declaredSec: 600,
        decodedSec: 600,
        decodeErrors: 9,
        errorAtSec: [3.3, 62.4, 70, 80, 90, 100, 110],
      }),
    );
    expect(v.verdict === 'warn' && v.message).toContain(
      '9 decode errors at 3.3 s, 1:02.40, 1:10.00, 1:20.00, 1:30.00 and 2 more places.',
    );
    const two = judgeDecodedAudio(report({ decodeErrors: 2, errorAtSec: [1, 2] }));
    expect(two.verdict === 'warn' && two.message).toContain('2 decode errors at 1 s and 2 s.');
    const one = judgeDecodedAudio(report({ decodeErrors: 1 }));
    expect(one.verdict === 'warn' && one.message).toContain('damaged: a decode error. The video');
  });

  it('fails with a reason that names the file and says nothing usable is left', () => {
    expect(
      judgeDecodedAudio(
        report({
          decodedSec: 0.26,
          decodeErrors: 24,
          errorReason: 'Invalid data found when processing input',
        }),
      ),
    ).toEqual({
      verdict: 'fail',
      reason:
        'the recording recording.mp3 is damaged: only 0.26 s of the 10 s it declares could be decoded ' +
        '(ffmpeg: Invalid data found when processing input); nothing usable is left — upload the ' +
        'recording again or export it anew',
    });
    const none = judgeDecodedAudio(report({ declaredSec: undefined, decodedSec: 0, decodeErrors: 3 }));
    expect(none.verdict === 'fail' && none.reason).toMatch(
      /^the recording recording.mp3 is damaged: nothing could be decoded;/,
    );
  });

  it('tolerates max(0.5 s, 2 %)', () => {
    expect(lossToleranceSec(10)).toBe(0.5);
    expect(lossToleranceSec(25)).toBe(0.5);
    expect(lossToleranceSec(100)).toBe(2);
    expect(lossToleranceSec(3600)).toBe(72);
  });
});

describe('decode-error lines of ffmpeg', () => {
  it.each([
    [
      'Error while decoding stream #0:0: Invalid data found when processing input',
      'Invalid data found when processing input',
    ],
    [
      '[aist#0:0/mp3 @ 0x55d] [dec:mp3float @ 0x55e] Error submitting packet to decoder: Invalid data found when processing input',
      'Invalid data found when processing input',
    ],
    [
      '[aist#0:0/mp3 @ 0x55d] Decoding error: Invalid data found when processing input',
      'Invalid data found when processing input',
    ],
    ['[mp3float @ 0x557eedf9c8c0] Header missing', undefined],
    ['size=N/A time=00:00:04.99 bitrate=N/A speed= 560x', undefined],
    ['[Parsed_volumedetect_1 @ 0x1] max_volume: -3.1 dB', undefined],
  ])('%s → %s', (line, reason) => {
    expect(decodeErrorReason(line)).toBe(reason);
  });

  it('counts them and keeps the first reason', () => {
    const t = new DecodeErrorTally();
    for (const l of [
      '[mp3float @ 0x1] Header missing',
      'Error while decoding stream #0:0: Invalid data found when processing input',
      'Error while decoding stream #0:0: Operation not permitted',
      'video:0kB audio:860kB',
    ])
      t.line(l);
    expect(t.count).toBe(2);
    expect(t.firstReason).toBe('Invalid data found when processing input');
  });
});

/** A RIFF/WAVE header: fmt (PCM) and a data chunk declaring `dataBytes`, optionally a LIST chunk between. */
function wavHeader(opts: {
  channels: number;
  rate: number;
  bits: number;
  dataBytes: number;
  list?: number;
}): Buffer {
  const { channels, rate, bits, dataBytes, list } = opts;
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE((rate * channels * bits) / 8, 16);
  fmt.writeUInt16LE((channels * bits) / 8, 20);
  fmt.writeUInt16LE(bits, 22);
  const extra =
    list !== undefined
      ? Buffer.concat([Buffer.from('LIST', 'latin1'), u32(list), Buffer.alloc(list + (list % 2))])
      : Buffer.alloc(0);
  const data = Buffer.concat([Buffer.from('data', 'latin1'), u32(dataBytes)]);
  return Buffer.concat([
    Buffer.from('RIFF', 'latin1'),
    u32(36 + dataBytes),
    Buffer.from('WAVE', 'latin1'),
    fmt,
    extra,
    data,
  ]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

describe('wavDeclaredSec', () => {
  it.each([
    ['8 kHz stereo 16-bit, 10 s', wavHeader({ channels: 2, rate: 8000, bits: 16, dataBytes: 320_000 }), 10],
    ['48 kHz mono 24-bit, 2.5 s', wavHeader({ channels: 1, rate: 48000, bits: 24, dataBytes: 360_000 }), 2.5],
    [
      'a LIST chunk (odd size) before data',
      wavHeader({ channels: 1, rate: 8000, bits: 16, dataBytes: 16_000, list: 27 }),
      1,
    ],
    [
      'streamed: data size 0xFFFFFFFF',
      wavHeader({ channels: 1, rate: 8000, bits: 16, dataBytes: 0xffffffff }),
      undefined,
    ],
    ['streamed: data size 0', wavHeader({ channels: 1, rate: 8000, bits: 16, dataBytes: 0 }), undefined],
    ['not RIFF', Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), undefined],
    [
      'cut before the data chunk',
      wavHeader({ channels: 1, rate: 8000, bits: 16, dataBytes: 16_000 }).subarray(0, 30),
      undefined,
    ],
  ])('%s → %s', (_name, header, sec) => {
    expect(wavDeclaredSec(header)).toBe(sec);
  });
});

describe('findDecodeGaps', () => {
  const frames = (from: number, to: number, step = 0.026) => {
    const out: number[] = [];
    for (let t = from; t < to - 1e-9; t += step) out.push(Math.round(t * 1e6) / 1e6);
    return out;
  };
  it.each([
    ['no errors', frames(0, 5), 0, []],
    ['errors after the last good frame (truncation)', frames(0, 5), 7, [5.02]],
    ['a hole in the middle', [...frames(0, 3.328), ...frames(3.432, 8.4)], 3, [3.33]],
    ['two holes', [...frames(0, 1.04), ...frames(1.3, 2.6), ...frames(3, 4)], 5, [1.04, 2.6]],
    [
      'a late first frame (an MP3 encoder delay), errors at the end',
      [0.138, 0.144, ...frames(0.216, 2.4, 0.072)],
      7,
      [2.31],
    ],
    ['nothing decoded', [], 40, [0]],
  ])('%s', (_name, frameStartsSec, errors, at) => {
    expect(findDecodeGaps({ frameStartsSec, errors })).toEqual(at);
  });
});

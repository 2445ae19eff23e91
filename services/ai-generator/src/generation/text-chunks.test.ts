import { describe, expect, it } from 'vitest';
import { joinAlignments, offsetsOf } from './alignment.ts';
import { splitText } from './text-chunks.ts';

describe('splitText: long text cut at sentences within the per-request limit', () => {
  it('keeps a text within the limit whole', () => {
    expect(splitText({ text: 'Hello there. How are you?', maxChars: 100 })).toEqual([
      'Hello there. How are you?',
    ]);
  });

  it('packs whole sentences up to the limit, and the chunks join back into the text exactly', () => {
    const text = 'One two three. Four five six seven! Eight nine? Ten eleven twelve thirteen. Fourteen.';
    const chunks = splitText({ text, maxChars: 40 });
    expect(chunks).toEqual([
      'One two three. Four five six seven! ',
      'Eight nine? Ten eleven twelve thirteen. ',
      'Fourteen.',
    ]);
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(40);
  });

  it('cuts a sentence longer than the limit after a clause mark, else after a space, else hard', () => {
    const clause = 'First part of a long sentence, second part that goes on; third part ends here.';
    const a = splitText({ text: clause, maxChars: 60 });
    expect(a[0]).toBe('First part of a long sentence, second part that goes on; ');
    expect(a.join('')).toBe(clause);

    const words = 'aaaa bbbb cccc dddd eeee ffff gggg';
    expect(splitText({ text: words, maxChars: 12 })).toEqual([
      'aaaa bbbb ',
      'cccc dddd ',
      'eeee ffff ',
      'gggg',
    ]);

    const solid = 'x'.repeat(25);
    expect(splitText({ text: solid, maxChars: 10 })).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('never makes a chunk over the limit on a long mixed text', () => {
    const text = Array.from({ length: 200 }, (_, i) =>
      i % 7 === 0
        ? `A rather long sentence number ${i}, with a clause, and another one; and then some more words to make it long.`
        : `Short ${i}.`,
    ).join(' ');
    const chunks = splitText({ text, maxChars: 250 });
    expect(chunks.join('')).toBe(text);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(250);
    // sentences stay whole: every chunk but the last ends at a sentence end (a short text packs many)
    for (const c of chunks.slice(0, -1)) expect(c.trimEnd()).toMatch(/[.!?]$/);
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => splitText({ text: 'abc', maxChars: 0 })).toThrow(/maxChars/);
  });
});

describe('joinAlignments: character timings of joined audio', () => {
  it('moves each piece by where it starts in the joined audio', () => {
    const joined = joinAlignments([
      {
        alignment: {
          characters: ['H', 'i'],
          characterStartTimesSeconds: [0, 0.1],
          characterEndTimesSeconds: [0.1, 0.2],
        },
        offsetSec: 0,
      },
      {
        alignment: { characters: ['!'], characterStartTimesSeconds: [0.05], characterEndTimesSeconds: [0.3] },
        offsetSec: 0.25,
      },
    ]);
    expect(joined).toEqual({
      characters: ['H', 'i', '!'],
      characterStartTimesSeconds: [0, 0.1, 0.3],
      characterEndTimesSeconds: [0.1, 0.2, 0.55],
    });
    expect(offsetsOf([1.5, 2, 0.25])).toEqual([0, 1.5, 3.5]);
  });

  it('names the chunk whose arrays do not match', () => {
    expect(() =>
      joinAlignments([
        {
          alignment: {
            characters: ['a', 'b'],
            characterStartTimesSeconds: [0],
            characterEndTimesSeconds: [1, 2],
          },
          offsetSec: 0,
        },
      ]),
    ).toThrow(/chunk 1 has 2 characters but 1 start/);
  });
});

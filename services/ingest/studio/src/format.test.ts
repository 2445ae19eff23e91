import { describe, expect, it } from 'vitest';
import { age, bytes, clock, duration, label, percent } from './format.ts';

describe('format', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T12:00:00Z', 'just now'],
    ['2026-01-01T11:59:18Z', '42 s ago'],
    ['2026-01-01T11:55:00Z', '5 min ago'],
    ['2026-01-01T09:00:00Z', '3 h ago'],
    ['2025-12-29T12:00:00Z', '3 d ago'],
    ['2026-01-01T12:00:30Z', 'just now'],
  ])('age of %s is "%s"', (iso, text) => expect(age(iso, now)).toBe(text));

  it.each([
    [850, '850 ms'],
    [12_340, '12.3 s'],
    [125_000, '2 min 05 s'],
    [3_720_000, '1 h 02 min'],
  ])('duration %d ms is "%s"', (ms, text) => expect(duration(ms)).toBe(text));

  it('writes sizes, clocks, labels and percents', () => {
    expect([bytes(812), bytes(4200), bytes(12_500_000), bytes(1_200_000_000)]).toEqual([
      '812 B',
      '4.2 kB',
      '12.5 MB',
      '1.20 GB',
    ]);
    expect([clock(65.3), clock(3723)]).toEqual(['1:05', '1:02:03']);
    expect([label('audio-split'), label('encode')]).toEqual(['Audio split', 'Encode']);
    expect([percent(99.7), percent(100), percent(-3)]).toEqual(['99 %', '100 %', '0 %']);
  });
});

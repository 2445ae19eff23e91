import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors.ts';
import { placeIssues } from './fields.ts';

const controls = [
  { control: 'audio', fields: ['audio', 'audioKey', 'audio_key'] },
  { control: 'photos', fields: ['images'] },
  { control: 'photo-1', fields: ['images[1]'] },
  { control: 'gain', fields: ['music.gainDb', 'gainDb'] },
];

describe('placeIssues', () => {
  it('puts each named field next to its control, most specific name first, and without the field prefix', () => {
    const err = new ApiError({
      status: 400,
      code: 'invalid_input',
      message: 'audio: is required',
      issues: [
        { field: 'audio', message: 'audio: is required' },
        { field: 'images[1]', message: 'images[1]: is not an image' },
        { field: 'images[3].key', message: 'no such blob' },
        { field: 'music.gainDb', message: 'music.gainDb: must be from -60 to 0' },
      ],
    });
    const placed = placeIssues(err, controls);
    expect(placed.byControl).toEqual({
      audio: ['Is required'],
      'photo-1': ['Is not an image'],
      photos: ['No such blob'],
      gain: ['Must be from -60 to 0'],
    });
    expect(placed.general).toEqual([]);
    expect(placed.first).toBe('audio');
  });

  it('shows fields no control owns, and errors without a field, above the form', () => {
    const unknown = new ApiError({
      status: 400,
      code: 'invalid_input',
      message: 'x',
      issues: [{ field: 'storyId', message: 'too long' }],
    });
    expect(placeIssues(unknown, controls).general).toEqual(['storyId: Too long']);
    const whole = new ApiError({
      status: 413,
      code: 'too_large',
      message: 'upload is larger than the limit',
    });
    expect(placeIssues(whole, controls)).toEqual({
      byControl: {},
      general: ['upload is larger than the limit'],
      first: undefined,
    });
  });

  it('does not take a longer field name for a prefix of it', () => {
    const err = new ApiError({
      status: 400,
      code: 'x',
      message: 'm',
      issues: [{ field: 'audioKey', message: 'bad' }],
    });
    expect(placeIssues(err, [{ control: 'a', fields: ['audio'] }]).general).toEqual(['audioKey: Bad']);
  });
});

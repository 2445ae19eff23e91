import { describe, expect, it } from 'vitest';
import { apiErrorFrom } from './errors.ts';

describe('apiErrorFrom', () => {
  it('reads the API error body, with every issue', () => {
    const err = apiErrorFrom({
      status: 400,
      statusText: 'Bad Request',
      body: JSON.stringify({
        error: {
          code: 'invalid_input',
          message: 'a: bad',
          field: 'a',
          issues: [
            { field: 'a', message: 'a: bad' },
            { field: 'b', message: 'b: bad' },
          ],
        },
      }),
    });
    expect(err).toMatchObject({ status: 400, code: 'invalid_input', message: 'a: bad' });
    expect(err.issues.map((i) => i.field)).toEqual(['a', 'b']);
  });

  it('turns a lone field into one issue', () => {
    const err = apiErrorFrom({
      status: 415,
      statusText: '',
      body: JSON.stringify({
        error: { code: 'unsupported_media_type', message: 'recording: not audio', field: 'recording' },
      }),
    });
    expect(err.issues).toEqual([{ field: 'recording', message: 'recording: not audio' }]);
  });

  it('says what happened when the body is not the API’s (a proxy page, no connection)', () => {
    expect(apiErrorFrom({ status: 502, statusText: 'Bad Gateway', body: '<html>' }).message).toBe(
      'the server answered 502 Bad Gateway',
    );
    expect(apiErrorFrom({ status: 0, statusText: '', body: '' })).toMatchObject({ code: 'network' });
  });
});

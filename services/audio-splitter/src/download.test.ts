import { describe, expect, it } from 'vitest';
import { backoffDelays, displayUrl, isTwilioRecording, twilioMediaUrl } from './download.ts';

const REC =
  'https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/RE0123456789abcdef0123456789abcdef';

describe('download helpers', () => {
  it('asks Twilio for the dual-channel WAV explicitly', () => {
    expect(twilioMediaUrl({ url: REC })).toBe(`${REC}.wav?RequestedChannels=2`);
  });

  it('keeps an extension Twilio’s URL already has', () => {
    expect(twilioMediaUrl({ url: `${REC}.mp3` })).toBe(`${REC}.mp3?RequestedChannels=2`);
  });

  it('recognises Twilio recordings by host or by source', () => {
    expect(isTwilioRecording({ url: REC })).toBe(true);
    expect(isTwilioRecording({ url: 'http://127.0.0.1:9/rec', source: 'twilio' })).toBe(true);
    expect(isTwilioRecording({ url: 'https://example.com/rec.wav', source: 'bus' })).toBe(false);
  });

  it('backs off 1 s, 2 s, 4 s between attempts', () => {
    expect(backoffDelays({ attempts: 4, backoffMs: 1000 })).toEqual([1000, 2000, 4000]);
    expect(backoffDelays({ attempts: 3, backoffMs: 1000 })).toEqual([1000, 2000]);
  });

  it('shows URLs without credentials or query', () => {
    expect(displayUrl({ url: 'https://u:p@example.com/a/b.wav?X-Amz-Signature=abc' })).toBe(
      'https://example.com/a/b.wav',
    );
  });
});

/** When each character of a text is spoken, in seconds from the start of the audio (ElevenLabs' shape). */
export interface CharacterAlignment {
  characters: string[];
  characterStartTimesSeconds: number[];
  characterEndTimesSeconds: number[];
}

/** What a speech generation stores beside its audio (`alignment.json`): captions can be made from it. */
export interface SpeechAlignmentFile {
  /** The whole text that was spoken. */
  text: string;
  /** Characters of `text` with their times in the stored audio. */
  alignment: CharacterAlignment;
  /** The same for the text as the model normalised it (numbers spelled out, …), when it reported one. */
  normalizedAlignment?: CharacterAlignment;
  /** The requests the text was cut into: where each one's audio starts in the stored audio, and its length. */
  chunks: Array<{ text: string; startSec: number; durationSec: number; requestId?: string }>;
}

const round = (sec: number) => Math.round(sec * 1e4) / 1e4;

/**
 * Character timings of consecutive pieces of audio joined into one: each piece's times moved by where
 * it starts (the summed lengths of the pieces before it, as decoded). Throws when a piece's arrays
 * differ in length (a malformed answer).
 */
export function joinAlignments(
  parts: Array<{ alignment: CharacterAlignment; offsetSec: number }>,
): CharacterAlignment {
  const out: CharacterAlignment = {
    characters: [],
    characterStartTimesSeconds: [],
    characterEndTimesSeconds: [],
  };
  for (const [i, { alignment: a, offsetSec }] of parts.entries()) {
    const n = a.characters.length;
    if (a.characterStartTimesSeconds.length !== n || a.characterEndTimesSeconds.length !== n)
      throw new Error(
        `alignment of chunk ${i + 1} has ${n} characters but ${a.characterStartTimesSeconds.length} start and ${a.characterEndTimesSeconds.length} end times`,
      );
    out.characters.push(...a.characters);
    out.characterStartTimesSeconds.push(...a.characterStartTimesSeconds.map((t) => round(t + offsetSec)));
    out.characterEndTimesSeconds.push(...a.characterEndTimesSeconds.map((t) => round(t + offsetSec)));
  }
  return out;
}

/** Where each piece starts when pieces of these lengths are played one after another. */
export function offsetsOf(durationsSec: number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const d of durationsSec) {
    out.push(at);
    at += d;
  }
  return out;
}

/** The font the default logo is drawn with (Debian `fonts-dejavu-core`). */
export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';

// Renders the bundled neutral faces (assets/*.svg, drawn by hand) to the PNGs the service ships.
// Run once after editing an SVG: node --import tsx services/ai-generator/scripts/render-faces.ts
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');
for (const role of ['caller', 'callee']) {
  const info = await sharp(join(assets, `${role}.svg`))
    .resize(512, 512)
    .png({ compressionLevel: 9, palette: true })
    .toFile(join(assets, `${role}.png`));
  console.log(`${role}.png ${info.width}x${info.height} ${info.size} bytes`);
}

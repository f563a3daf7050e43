import { describe, expect, it } from 'vitest';
import { imageParts, promptRequestParts, RUN_PROMPT_OPTION_NAMES } from '../../../src/invoke/prompt-options.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const GIF = Buffer.from('GIF89a\x01\x00', 'latin1');

describe('images of a prompt (`run --image`, MCP `images`)', () => {
  it('keeps the bytes each was read as beside the inline part the request carries: a stored session keeps those, not the part decoded again', async () => {
    const { images } = await promptRequestParts({ images: [{ bytes: PNG, name: 'a.png' }, { bytes: GIF, name: 'b.gif', declaredType: 'image/gif' }] }, RUN_PROMPT_OPTION_NAMES);
    expect(images.map((image) => image.bytes)).toEqual([PNG, GIF]);
    expect(images[0]?.bytes).toBe(PNG);
    expect(imageParts(images)).toEqual([
      { type: 'image', mediaType: 'image/png', data: PNG.toString('base64') },
      { type: 'image', mediaType: 'image/gif', data: GIF.toString('base64') },
    ]);
  });
});

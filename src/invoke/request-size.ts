import { InvalidInputError } from '../errors.js';
import { INPUT_LIMIT_BYTES, INPUT_LIMIT_TEXT } from '../validation/input-file.js';

/** The bytes `size` bytes of an image take in a request: base64, as every wire sends an image inline. */
function base64Bytes(size: number): number {
  return 4 * Math.ceil(size / 3);
}

/** A message as much as its size in a request needs: its text and its images' sizes. */
export interface SizedMessage {
  text: string;
  images: readonly { size: number }[];
}

/** The sizes of images read (a prompt's, as `SizedMessage` takes them). */
export function sizedImages(images: readonly { bytes: Uint8Array }[]): Array<{ size: number }> {
  return images.map(({ bytes }) => ({ size: bytes.length }));
}

/** A request as much as its size needs: its system prompt, the messages before the prompt, and the prompt. */
export interface SizedConversation {
  systemPrompt: string | null;
  messages: readonly SizedMessage[];
  prompt: SizedMessage;
}

const MIB = 1024 * 1024;

function mebibytes(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** What a conversation takes as sent (texts as UTF-8, images base64-encoded): in all, the prompt's part, and the earlier messages' images. */
function requestBytes(conversation: SizedConversation): { total: number; promptBytes: number; earlierImages: number } {
  const textBytes = (message: SizedMessage): number => Buffer.byteLength(message.text, 'utf8');
  const imageBytes = (message: SizedMessage): number => message.images.reduce((sum, image) => sum + base64Bytes(image.size), 0);
  const promptBytes = textBytes(conversation.prompt) + imageBytes(conversation.prompt);
  const earlierImages = conversation.messages.reduce((sum, message) => sum + imageBytes(message), 0);
  const total =
    (conversation.systemPrompt === null ? 0 : Buffer.byteLength(conversation.systemPrompt, 'utf8')) +
    conversation.messages.reduce((sum, message) => sum + textBytes(message), 0) +
    earlierImages +
    promptBytes;
  return { total, promptBytes, earlierImages };
}

/** The hint of a prompt whose own images are too many or too large, naming how the caller gives them (`--image` files, `` `images` ``). */
function fewerImagesHint(imagesName: string): string {
  return `send less with this prompt: fewer or smaller ${imagesName} (each is sent base64-encoded, 4/3 of its size)`;
}

/**
 * Refuses a prompt sent without a stored session (`run`, MCP `complete`) whose request — the
 * system prompt and the prompt, each image base64-encoded as it would be sent — is over
 * `INPUT_LIMIT_BYTES`: each image is bounded by it on its own, but several are sent in one request.
 * Measured from the images' sizes, before any is encoded for the request (`run` from its files'
 * sizes, before it reads them). `InvalidInputError` (exit 3), as for any other input over the limit;
 * the hint names the images as the caller gives them (`imagesName`).
 */
export function refuseRequestOverLimit(request: { systemPrompt: string | null; prompt: SizedMessage }, imagesName: string): void {
  const { total } = requestBytes({ ...request, messages: [] });
  if (total <= INPUT_LIMIT_BYTES) return;
  const count = request.prompt.images.length;
  throw new InvalidInputError(
    `this prompt${count === 0 ? '' : ` with its ${count === 1 ? 'image' : `${count} images`}`} would be ${mebibytes(total)} (${total} bytes) as sent (images base64-encoded), more than the ${INPUT_LIMIT_TEXT} syndicate sends in one request: nothing was classified or sent`,
    [],
    { hint: fewerImagesHint(imagesName), details: { bytes: total, limitBytes: INPUT_LIMIT_BYTES } },
  );
}

/**
 * Refuses a turn of a stored session whose request — the system prompt, the messages in the
 * context and the new prompt, each image base64-encoded as it would be sent — is over
 * `INPUT_LIMIT_BYTES`, the most syndicate takes of one input and the gateway of one request body:
 * the session's images are sent again with every turn, so a conversation grows past what a single
 * input may be. Measured from the sizes the session's chain proves, before any image is encoded
 * for the request. `InvalidInputError` (exit 3), as for any other input over the limit.
 */
export function refuseConversationOverLimit(sessionId: string, conversation: SizedConversation): void {
  const { total, promptBytes, earlierImages } = requestBytes(conversation);
  if (total <= INPUT_LIMIT_BYTES) return;
  const imageCount = conversation.messages.reduce((sum, message) => sum + message.images.length, 0);
  const carried = imageCount === 0 ? '' : `, ${mebibytes(earlierImages)} of it the ${imageCount === 1 ? 'image' : `${imageCount} images`} its earlier turns send again`;
  throw new InvalidInputError(
    `session ${sessionId}'s conversation with this prompt would be ${mebibytes(total)} (${total} bytes) as sent (images base64-encoded${carried}), more than the ${INPUT_LIMIT_TEXT} syndicate sends in one request: nothing was classified or sent, and the session is unchanged`,
    [],
    {
      hint:
        promptBytes > INPUT_LIMIT_BYTES || earlierImages === 0
          ? fewerImagesHint('images')
          : `the session's images are sent again with every turn: continue in a new session (\`syndicate session start\`) with only the images still needed, or drop this one's turns with images by switching it to a model without image input (\`syndicate provider switch PROVIDER:MODEL --session ${sessionId}\`)`,
      details: { session: sessionId, bytes: total, limitBytes: INPUT_LIMIT_BYTES },
    },
  );
}

/** The answer text in an OpenAI-format chat completion as an engine sent it (raw bytes from the evidence). */

/** The text a streamed chat completion carries, rebuilt from the raw SSE bytes. */
export function textOfStream(raw: string): string {
  let text = '';
  for (const frame of raw.split('\n\n')) {
    const data = frame.split('\n').find((line) => line.startsWith('data: '))?.slice(6);
    if (data === undefined || data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
    text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

/** The text of a chat completion answered whole. */
export function textOfJson(raw: string): string {
  return (JSON.parse(raw) as { choices: { message: { content: string } }[] }).choices[0]?.message.content ?? '';
}

/** vLLM's (and OpenAI's) words for a prompt over the model's window, as a 400 body: what error-scope reads as `input_too_long`. */
export const VLLM_CONTEXT_LENGTH_REFUSAL = JSON.stringify({
  object: 'error',
  message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4900 in the messages, 100 in the completion). Please reduce the length of the messages or completion.",
  type: 'BadRequestError',
  param: null,
  code: 400,
});

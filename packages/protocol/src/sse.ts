/** A minimal Server-Sent Events reader over a fetch body (the parts of the spec the log stream uses). */
export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/**
 * The largest event read (its lines, in characters), as the client's cap on a whole answer
 * (MAX_ANSWER_BYTES): a broken or hostile server's endless line or event cannot fill memory.
 */
export const MAX_SSE_EVENT_CHARS = 64 * 1024 * 1024;

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let id: string | null = null;
  let data: string[] = [];
  let dataChars = 0;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length + dataChars > MAX_SSE_EVENT_CHARS) throw new Error(`an event of the stream is larger than ${MAX_SSE_EVENT_CHARS} characters`);
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) yield { event, id, data: data.join('\n') };
        event = 'message';
        id = null;
        data = [];
        dataChars = 0;
      } else if (line.startsWith(':')) {
        continue; // keep-alive comment
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') {
          data.push(value);
          dataChars += value.length + 1;
        }
      }
    }
  }
}

/**
 * A streaming multipart/form-data encoder for the one upload that needs it
 * (POST /v1/builds: spec, credentials, then the source stream). fetch's FormData
 * wants a Blob for file parts, which would hold the whole source in memory.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export type MultipartPart =
  | { name: string; json: unknown }
  | { name: string; filename: string; contentType: string; stream: AsyncIterable<Uint8Array> };

export function encodeMultipart(parts: MultipartPart[]): { body: Readable; contentType: string } {
  const boundary = `buildmesh-${randomBytes(16).toString('hex')}`;
  async function* generate(): AsyncGenerator<Buffer> {
    for (const part of parts) {
      if ('json' in part) {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n` +
            `Content-Type: application/json\r\n\r\n${JSON.stringify(part.json)}\r\n`,
        );
      } else {
        yield Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType}\r\n\r\n`,
        );
        for await (const chunk of part.stream) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        yield Buffer.from('\r\n');
      }
    }
    yield Buffer.from(`--${boundary}--\r\n`);
  }
  return { body: Readable.from(generate()), contentType: `multipart/form-data; boundary=${boundary}` };
}

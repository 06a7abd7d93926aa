/** A download read whole (tests only: the product streams every artifact and source). */
import type { StreamedAnswer } from '@buildmesh/protocol';

export async function bytesOf(answer: StreamedAnswer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

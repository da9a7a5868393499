/**
 * The start of a receiver's answer (a webhook, Alertmanager, a remote_write or OTLP
 * endpoint), never the whole of it: only the status and, on a refusal, the first words matter,
 * while a proxy's error page or a misdirected URL may answer megabytes slowly. At most `limit`
 * bytes of the body are read (letting a short answer free its connection for reuse) and the
 * rest is cancelled, which closes the connection.
 */
export async function answerStart(response: Response, limit: number): Promise<Uint8Array> {
  const body = response.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    while (read <= limit) {
      const chunk = await reader.read();
      if (chunk.done) return Buffer.concat(chunks, Math.min(read, limit));
      chunks.push(chunk.value);
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // a reset or timed-out answer: what was read is all there is
  }
  return Buffer.concat(chunks, Math.min(read, limit));
}

/**
 * Blobs that an in-flight request has just stored but not yet referenced from a
 * committed row. Content addressing means two uploads of the same bytes share one
 * blob: when one of them fails and cleans up, it must not delete the blob the
 * other is about to commit. Cleanup and retention skip pinned blobs.
 */
export class BlobPins {
  private readonly counts = new Map<string, number>();

  /** Returns the release function; call it once the row is committed or the request failed. */
  pin(sha256: string): () => void {
    this.counts.set(sha256, (this.counts.get(sha256) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.counts.get(sha256) ?? 1) - 1;
      if (n <= 0) this.counts.delete(sha256);
      else this.counts.set(sha256, n);
    };
  }

  isPinned(sha256: string): boolean {
    return this.counts.has(sha256);
  }
}

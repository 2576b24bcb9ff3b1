/**
 * A reader of server-sent events (Marathon's /v2/events): calls `onEvent` with each event's
 * parsed `data` JSON as it arrives, until `close()`.
 *
 * @module
 */

export interface SseStream {
  /** Resolves once the response headers arrived (the stream is open: later events will be seen). */
  opened: Promise<void>;
  close(): void;
}

export function readEvents(url: string, onEvent: (data: any) => void): SseStream {
  const abort = new AbortController();
  let openedResolve!: () => void;
  let openedReject!: (err: Error) => void;
  const opened = new Promise<void>((resolve, reject) => { openedResolve = resolve; openedReject = reject; });
  void (async () => {
    try {
      const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: abort.signal });
      if (res.status !== 200 || res.body === null) throw new Error(`GET ${url} → ${res.status}`);
      openedResolve();
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        // Lines may end in CRLF (Jetty, and our Marathon, write CRLF); JSON data never holds a raw CR.
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r/g, '');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (data === '') continue;
          try {
            onEvent(JSON.parse(data));
          } catch {
            // not JSON: not an event we read
          }
        }
      }
    } catch (err) {
      openedReject(err as Error);
    }
  })();
  opened.catch(() => undefined);
  return { opened, close: () => abort.abort() };
}

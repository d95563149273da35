/**
 * A parser of Server-Sent Events (the `text/event-stream` format), fed text as it arrives.
 *
 * The browser's EventSource cannot send headers, and Backstage's proxy needs two: Backstage's
 * own token and the user's Baton token. So the stream is read with fetch and parsed here.
 */

export type SseEvent = { event: string; data: string; id: string };

export class SseParser {
  private buffer = '';
  private fields: { event: string; data: string[]; id: string } = {
    event: '',
    data: [],
    id: '',
  };

  /** Feeds a chunk of text; returns the events it completed, in order. */
  feed(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let newline = this.buffer.search(/\r\n|\r|\n/);
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      const event = this.line(line);
      if (event) events.push(event);
      newline = this.buffer.search(/\r\n|\r|\n/);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      // A blank line ends an event; one without data is none (a comment or a retry).
      const { event, data, id } = this.fields;
      this.fields = { event: '', data: [], id };
      if (!data.length) return undefined;
      return { event: event || 'message', data: data.join('\n'), id };
    }
    if (line.startsWith(':')) return undefined; // a comment: the collector's keep-alive
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.fields.event = value;
    else if (name === 'data') this.fields.data.push(value);
    else if (name === 'id' && !value.includes('\0')) this.fields.id = value;
    return undefined;
  }
}

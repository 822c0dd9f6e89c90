// A Server-Sent Events parser (the WHATWG event-stream format), fed text chunks as they arrive.
// We read the stream with fetch() because EventSource cannot send an Authorization header.

export class SseParser {
  constructor() {
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
    this.id = null;
  }

  /** Feed a chunk of text; returns the complete events it finished: [{event, data, id}]. */
  push(chunk) {
    this.buffer += chunk;
    const events = [];
    // A line ends at CRLF, LF or CR; keep a trailing CR back in case its LF is in the next chunk.
    const lines = this.buffer.split(/\r\n|\n|\r(?!$)/);
    this.buffer = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (this.data.length) {
          events.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
        }
        this.reset();
        continue;
      }
      if (line.startsWith(':')) continue; // a comment, e.g. the server's keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
    return events;
  }
}

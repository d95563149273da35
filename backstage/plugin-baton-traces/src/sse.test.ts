import { SseParser } from './sse';

describe('SseParser', () => {
  it('returns events as their blank line completes them, across chunks', () => {
    const parser = new SseParser();
    expect(parser.feed('retry: 1000\n\nevent: rec')).toEqual([]);
    expect(parser.feed('ord\nid: 7\ndata: {"seq":')).toEqual([]);
    expect(parser.feed('7}\n\n: ping\n\nevent: reset\ndata: 3\n\n')).toEqual([
      { event: 'record', data: '{"seq":7}', id: '7' },
      { event: 'reset', data: '3', id: '7' },
    ]);
  });

  it('joins data lines, takes CRLF, and names an unnamed event "message"', () => {
    const parser = new SseParser();
    expect(parser.feed('data: a\r\ndata: b\r\n\r\ndata:c\n\n')).toEqual([
      { event: 'message', data: 'a\nb', id: '' },
      { event: 'message', data: 'c', id: '' },
    ]);
  });
});

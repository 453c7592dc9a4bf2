import { describe, expect, it } from 'vitest';
import { FerryError } from '../src/protocol/codes.js';
import { joinBytes } from '../src/protocol/bytes.js';
import { dataFrameParts, decodeDataFrame } from '../src/protocol/frames.js';
import { parseClientMessage } from '../src/protocol/parse.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as FerryError).code;
  }
  return undefined;
};

describe('data frames', () => {
  it('round-trips ids and offsets beyond 4 GiB and 2^53 boundaries', () => {
    for (const offset of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 8 * 2 ** 30 + 12345, Number.MAX_SAFE_INTEGER]) {
      const payload = Uint8Array.of(1, 2, 3);
      const frame = decodeDataFrame(joinBytes(dataFrameParts(0xfffffffe, offset, payload)));
      expect(frame).toEqual({ id: 0xfffffffe, offset, payload });
    }
  });

  it('rejects short frames and unknown kinds', () => {
    expect(codeOf(() => decodeDataFrame(new Uint8Array(5)))).toBe('protocol_error');
    const frame = joinBytes(dataFrameParts(1, 0, new Uint8Array(1)));
    frame[0] = 9;
    expect(codeOf(() => decodeDataFrame(frame))).toBe('protocol_error');
  });
});

describe('client messages', () => {
  it('accepts a full open', () => {
    const m = parseClientMessage(JSON.stringify({ t: 'open', id: 3, url: 'http://a/b', method: 'GET', headers: { Accept: 'video/*' }, offset: 10, end: 20, validator: { etag: '"x"' }, credit: 100 }));
    expect(m).toEqual({ t: 'open', id: 3, url: 'http://a/b', method: 'GET', headers: { accept: 'video/*' }, offset: 10, end: 20, validator: { etag: '"x"' }, credit: 100 });
  });

  it.each([
    ['not json', '{', 'protocol_error'],
    ['an array', '[]', 'protocol_error'],
    ['unknown type', '{"t":"boom"}', 'protocol_error'],
    ['open without id', '{"t":"open","url":"http://a","credit":1}', 'bad_request'],
    ['negative id', '{"t":"open","id":-1,"url":"http://a","credit":1}', 'bad_request'],
    ['fractional offset', '{"t":"open","id":1,"url":"http://a","credit":1,"offset":1.5}', 'bad_request'],
    ['end before offset', '{"t":"open","id":1,"url":"http://a","credit":1,"offset":5,"end":2}', 'bad_request'],
    ['unsafe header', '{"t":"open","id":1,"url":"http://a","credit":1,"headers":{"host":"x"}}', 'bad_request'],
    ['header injection', '{"t":"open","id":1,"url":"http://a","credit":1,"headers":{"accept":"a\\r\\nx: y"}}', 'bad_request'],
    ['bad method', '{"t":"open","id":1,"url":"http://a","credit":1,"method":"DELETE"}', 'bad_request'],
    ['body on GET', '{"t":"open","id":1,"url":"http://a","credit":1,"body":"AA=="}', 'bad_request'],
    ['media without an index', '{"t":"open","id":1,"url":"http://a","credit":1,"media":{"id":2,"credit":1}}', 'bad_request'],
    ['media on the index stream\'s own id', '{"t":"open","id":1,"url":"http://a","credit":1,"index":"mp4","media":{"id":1,"credit":1}}', 'bad_request'],
    ['media without a credit', '{"t":"open","id":1,"url":"http://a","credit":1,"index":"mp4","media":{"id":2}}', 'bad_request'],
    ['credit above 2^53', '{"t":"credit","id":1,"bytes":1e300}', 'bad_request'],
    ['oversized message', JSON.stringify({ t: 'hello', v: 1, password: 'x'.repeat(70_000) }), 'limit_reached'],
    ['a body one byte over the limit', JSON.stringify({ t: 'open', id: 1, url: 'http://a', credit: 1, method: 'POST', body: Buffer.alloc(32 * 1024 + 1).toString('base64') }), 'limit_reached'],
  ])('refuses %s', (_name, text, code) => {
    expect(codeOf(() => parseClientMessage(text))).toBe(code);
  });

  it('accepts an index open that asks for its media', () => {
    const m = parseClientMessage(JSON.stringify({ t: 'open', id: 1, url: 'http://a', credit: 1, index: 'mp4', media: { id: 2, credit: 5, extra: 1 } }));
    expect(m).toEqual({ t: 'open', id: 1, url: 'http://a', credit: 1, index: 'mp4', media: { id: 2, credit: 5 } });
  });

  it('takes a body of exactly the limit', () => {
    const body = Buffer.alloc(32 * 1024).toString('base64');
    expect(parseClientMessage(JSON.stringify({ t: 'open', id: 1, url: 'http://a', credit: 1, method: 'POST', body }))).toMatchObject({ body });
  });

  it('names the stream id of a request it refuses, so the client can fail that request', () => {
    for (const bad of [{ url: 'x'.repeat(9000) }, { url: 'http://a', headers: { cookie: 'a' } }, { url: 'http://a', method: 'PUT' }]) {
      let refused: unknown;
      try {
        parseClientMessage(JSON.stringify({ t: 'open', id: 42, credit: 1, ...bad }));
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ code: 'bad_request', id: 42 });
    }
  });
});

// The span-table binding (HttpParser) against the per-span callback binding, on three inputs:
// a browser GET, 10 pipelined small requests in one chunk, a POST with a 16 KiB body.
// `npm run bench:parser`; figures go to docs/parser.md.

import assert from 'node:assert/strict';
import os from 'node:os';
import { Bench } from 'tinybench';
import { HttpParser, E_OK, PARSER_REQUEST, SINK_OK } from '../../src/http/parser/index.js';
import type { MessageHead, ParserSink } from '../../src/http/parser/index.js';
import { CallbackHttpParser } from '../../src/http/parser/callback-binding.js';

const CRLF = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

const GET = CRLF(`GET /static/app.js?v=3 HTTP/1.1
Host: www.example.com
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0
Accept: */*
Accept-Language: en-US,en;q=0.5
Accept-Encoding: gzip, deflate, br, zstd
Referer: https://www.example.com/
Connection: keep-alive
Cookie: session=3f9a2c1e8b7d4f60a1b2c3d4e5f60718; theme=dark
Sec-Fetch-Dest: script
Sec-Fetch-Mode: no-cors
If-None-Match: "5f2b-19a7c3e4d10"

`);
const PIPELINED = Buffer.concat(Array.from({ length: 10 }, (_, i) => CRLF(`GET /item/${i} HTTP/1.1
Host: api.example.com
Accept: application/json

`)));
const BODY = Buffer.alloc(16 * 1024, 0x78);
const POST = Buffer.concat([CRLF(`POST /upload HTTP/1.1
Host: www.example.com
Content-Type: application/octet-stream
Content-Length: ${BODY.length}

`), BODY]);

/** Touches what a connection would read: method, field count, body bytes. */
class Sink implements ParserSink {
  messages = 0;
  bytes = 0;
  fields = 0;
  onHead(h: MessageHead): number {
    this.fields += h.headerCount + h.method;
    return SINK_OK;
  }
  onBody(_chunk: Buffer, start: number, end: number): void {
    this.bytes += end - start;
  }
  onTrailers(): void {}
  onMessageComplete(): number {
    this.messages++;
    return SINK_OK;
  }
}

type Parser = { execute(chunk: Buffer, from?: number): number };
const BINDINGS: [string, new (kind: number, sink: ParserSink) => Parser][] = [
  ['span table', HttpParser],
  ['callback', CallbackHttpParser],
];
const INPUTS: [string, Buffer, number, number][] = [
  ['browser GET (12 fields)', GET, 1, 0],
  ['10 pipelined GETs, one chunk', PIPELINED, 10, 0],
  ['POST, 16 KiB body', POST, 1, BODY.length],
];

const bench = new Bench({ name: 'HTTP/1.1 parser bindings', time: 1000 });
for (const [input, bytes, messages, body] of INPUTS) {
  for (const [binding, P] of BINDINGS) {
    const sink = new Sink();
    const p = new P(PARSER_REQUEST, sink);
    // sanity: the whole input parses, every message and body byte arrives
    assert.equal(p.execute(bytes), E_OK, `${binding} on ${input}`);
    assert.equal(sink.messages, messages, `${binding} on ${input}: messages`);
    assert.equal(sink.bytes, body, `${binding} on ${input}: body`);
    bench.add(`${input} | ${binding}`, () => {
      if (p.execute(bytes) !== E_OK) throw new Error('parse failed');
    });
  }
}

await bench.run();
const cpu = os.cpus();
console.log(`${bench.name}: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} (${cpu.length} cores), ${new Date().toISOString().slice(0, 10)}`);
console.table(bench.table());

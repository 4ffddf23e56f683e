// A sink that writes a readable trace, and a driver that feeds chunks through pauses.

import {
  E_OK, E_PAUSED, METHODS, SINK_OK, SINK_PAUSE, SINK_SKIP_BODY, PARSER_REQUEST,
} from '../../../src/http/parser/index.js';
import type { MessageHead, ParserLimits, ParserSink } from '../../../src/http/parser/index.js';
import { HttpParser } from '../../../src/http/parser/index.js';
import { CallbackHttpParser } from '../../../src/http/parser/callback-binding.js';

export interface Parser {
  pos: number;
  errorReason: string;
  execute(chunk: Buffer, from?: number): number;
  finish(): number;
  reset(): void;
  destroy(): void;
  messageInProgress(): boolean;
}
export type ParserClass = new (kind: number, sink: ParserSink, limits?: ParserLimits) => Parser;
export const BINDINGS: [string, ParserClass][] = [['table', HttpParser], ['callback', CallbackHttpParser]];

export function fields(h: MessageHead): string[] {
  const r: string[] = [];
  for (let i = 0; i < h.headerCount; i++) {
    const o = i * 5;
    const name = h.buf.toString('latin1', h.headers[o], h.headers[o + 1]);
    const value = h.buf.toString('latin1', h.headers[o + 2], h.headers[o + 3]);
    r.push(`${name}: ${value}${h.headers[o + 4] ? ` #${h.headers[o + 4]}` : ''}`);
  }
  return r;
}

/** Records every call; body pieces of a message are joined so that splits do not show. */
export class TraceSink implements ParserSink {
  trace: string[] = [];
  messages = 0;
  heads: { method: string; url: string; headers: number; trailers: number; status: number; head: string[] }[] = [];
  body: Buffer[] = [];
  pauseEvery = false;
  skipBody = false;

  onHead(h: MessageHead): number {
    const url = h.buf.toString('latin1', h.urlStart, h.urlEnd);
    const reason = h.buf.toString('latin1', h.reasonStart, h.reasonEnd);
    const line = h.statusCode !== 0
      ? `head ${h.statusCode} "${reason}" 1.${h.versionMinor}`
      : `head ${METHODS[h.method]} ${url} 1.${h.versionMinor}`;
    this.flushBody();
    this.trace.push(`${line} cl=${h.contentLength} flags=${h.flags} ka=${h.keepAlive}`);
    for (const f of fields(h)) this.trace.push(`  ${f}`);
    this.heads.push({
      method: METHODS[h.method], url, headers: h.headerCount, trailers: 0, status: h.statusCode, head: fields(h),
    });
    return this.skipBody ? SINK_SKIP_BODY : SINK_OK;
  }

  onBody(chunk: Buffer, start: number, end: number): void {
    if (end <= start) throw new Error(`empty body piece ${start}..${end}`);
    this.body.push(Buffer.from(chunk.subarray(start, end)));
  }

  onTrailers(t: MessageHead): void {
    this.flushBody();
    this.trace.push('trailers');
    this.heads[this.heads.length - 1].trailers = t.headerCount;
    for (const f of fields(t)) this.trace.push(`  ${f}`);
  }

  onMessageComplete(): number {
    this.flushBody();
    this.trace.push('done');
    this.messages++;
    return this.pauseEvery ? SINK_PAUSE : SINK_OK;
  }

  flushBody(): void {
    if (this.body.length === 0) return;
    this.trace.push(`body ${JSON.stringify(Buffer.concat(this.body).toString('latin1'))}`);
    this.body = [];
  }
}

export interface Outcome {
  rc: number;
  messages: number;
  inProgress: boolean;
  trace: string[];
  sink: TraceSink;
  reason: string;
}

/** Feeds the chunks, resuming after each pause; `finish` calls finish() at the end. */
export function feed(P: ParserClass, chunks: Buffer[], opts: {
  kind?: number; pause?: boolean; finish?: boolean; limits?: ParserLimits; skipBody?: boolean;
} = {}): Outcome {
  const sink = new TraceSink();
  sink.pauseEvery = opts.pause ?? false;
  sink.skipBody = opts.skipBody ?? false;
  const p = new P(opts.kind ?? PARSER_REQUEST, sink, opts.limits);
  let rc = E_OK;
  try {
    for (const c of chunks) {
      rc = p.execute(c);
      while (rc === E_PAUSED) {
        sink.trace.push('(paused)');
        rc = p.execute(c, p.pos);
      }
      if (rc !== E_OK) break;
    }
    if (rc === E_OK && opts.finish) rc = p.finish();
    sink.flushBody();
    return { rc, messages: sink.messages, inProgress: p.messageInProgress(), trace: sink.trace, sink, reason: p.errorReason };
  } finally {
    p.destroy();
  }
}

/** The corpus encodings: 'ascii' is one char per byte. */
export function decode(raw: string, encoding: string): Buffer {
  return encoding === 'base64' ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'latin1');
}

export function splitAt(b: Buffer, i: number): Buffer[] {
  return [b.subarray(0, i), b.subarray(i)];
}

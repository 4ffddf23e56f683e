// The span-table binding: one sluice_exec per chunk; C records spans as offsets in the parser's
// table and JS walks the table afterwards, calling the sink. Pauses happen only when the table
// fills up (P_FULL) and at a response head, where the sink decides about the body (P_HEAD).

import { E_OK, E_PAUSED, E_UPGRADE, PARSER_REQUEST, PARSER_RESPONSE, SINK_PAUSE, SINK_SKIP_BODY } from './types.js';
import type { ParserLimits, ParserSink } from './types.js';
import {
  EV_NAME, EV_VALUE, P_FULL, P_HEAD, OUT_COUNT, OUT_ERROR_POS, OUT_SKIP_BODY, OUT_BODY_LEFT, RECORD_INTS,
  SCRATCH_SIZE, FIRST_SLICE,
} from './constants.js';
import { NO_SINK, ParserCore, limitsOf } from './core.js';
import { wasm } from './instance.js';

/** Recycled parsers by kind (requests, responses), the last given back taken first. */
const spare: HttpParser[][] = [[], []];
let closedParser: HttpParser | null = null;

export class HttpParser extends ParserCore {
  /** sluice_exec calls made by every parser so far (tests count them). */
  static execCalls = 0;

  /** Index of the span table in memory, as int32. */
  private readonly table: number;
  /**
   * After a pause: where the walk of the table stopped (the slice, its exec's result, the next
   * record), to go on from there when the same chunk comes back at the pause's offset.
   */
  private kept: { start: number; n: number; off: number; rc: number; next: number } | null = null;

  constructor(kind: number, sink: ParserSink, limits?: ParserLimits) {
    super(kind, sink, limits, 0);
    this.table = wasm().x.sluice_table(this.ptr) >> 2;
  }

  /**
   * A parser for a new connection: one that a closed connection gave back (recycle()) with the
   * same kind and limits, made fresh, or a new one. Saves the wasm allocation and the JS objects
   * (two heads' field tables) per connection, as nginx takes its connections from a free list.
   */
  static take(kind: number, sink: ParserSink, limits?: ParserLimits): HttpParser {
    const list = spare[kind === PARSER_RESPONSE ? 1 : 0];
    const p = list.length > 0 ? list[list.length - 1] : null;
    if (p !== null) {
      const l = limitsOf(limits), m = p.limits;
      if (l[0] === m[0] && l[1] === m[1] && l[2] === m[2] && l[3] === m[3]) {
        list.pop();
        p.adopt(sink);
        return p;
      }
    }
    return new HttpParser(kind, sink, limits);
  }

  /** A destroyed parser (every call answers E_CLOSED): what an owner holds after recycle(). */
  static closed(): HttpParser {
    if (closedParser === null) {
      closedParser = new HttpParser(PARSER_REQUEST, NO_SINK);
      closedParser.destroy();
    }
    return closedParser;
  }

  /** Parsers kept for new connections (both kinds together, at most). */
  static readonly SPARE_MAX = 64;

  /** How many of each kind wait for a connection (tests look). */
  static spareCount(kind: number): number {
    return spare[kind === PARSER_RESPONSE ? 1 : 0].length;
  }

  /** Destroy the parsers kept for new connections (tests start from an empty free list). */
  static dropSpare(): void {
    for (const list of spare) {
      for (const p of list.splice(0)) p.destroy();
    }
  }

  protected override keep(): boolean {
    this.kept = null;
    const list = spare[this.kind === PARSER_RESPONSE ? 1 : 0];
    if (spare[0].length + spare[1].length >= HttpParser.SPARE_MAX) return false;
    list.push(this);
    return true;
  }

  protected override run(chunk: Buffer, from: number): number {
    const w = wasm();
    let start = from;
    let size = FIRST_SLICE;
    let n = 0, off = 0, rc = E_OK, first = 0;
    let resuming = false;
    if (this.stale) {
      this.stale = false;
      const k = this.kept;
      if (k !== null && chunk === this.chunk && from === this.pausePos) {
        // the same bytes again, from where the sink paused: C has parsed them already (the
        // records after the pause are still in the table), so go on walking them — each
        // message is parsed once, however many came pipelined in one read
        this.kept = null;
        start = k.start; n = k.n; off = k.off; rc = k.rc; first = k.next; size = SCRATCH_SIZE;
        resuming = true;
      } else {
        // another chunk (a copy of the rest, say): start the C state again at `from`
        this.kept = null;
        this.reinit(this.closing ? 1 : 0);
        this.enter(chunk, from);
      }
    } else {
      this.enter(chunk, from);
    }
    const len = chunk.length;
    for (;;) {
      if (!resuming) {
        const taken = this.takeBody(chunk, start);
        if (this.deferred !== 0) return E_OK;
        start += taken;
        if (taken === 0 ? start >= len : w.i32[this.info + OUT_BODY_LEFT] > 0) break;
        // a slice (after a body that just ended, maybe empty: the parser still has to finish the message)
        n = Math.min(len - start, size);
        size = SCRATCH_SIZE;
        chunk.copy(w.u8, w.scratch, start, start + n);
        w.owner = this;
        off = 0;
      }
      for (;;) {
        if (!resuming) {
          rc = w.x.sluice_exec(this.ptr, w.scratch + off, n - off);
          HttpParser.execCalls++;
          this.delta = start + off;
          first = 0;
        } else {
          resuming = false;
          this.delta = start + off;
        }
        const paused = this.walk(first);
        if (this.deferred !== 0) return E_OK;
        // a pause after CONNECT's head gives way to E_UPGRADE, which stops at the same place
        if (paused >= 0 && !(rc === E_UPGRADE && paused === w.i32[this.info + OUT_COUNT] - 1)) {
          this.stale = true;
          this.pos = this.pausePos;
          // what resumes the walk if the same chunk comes back from here
          this.kept = { start, n, off, rc, next: paused + 1 };
          return E_PAUSED;
        }
        if (rc === E_OK) break;
        const stop = w.i32[this.info + OUT_ERROR_POS];
        if (rc !== P_FULL && rc !== P_HEAD) return this.fail(rc, start + off + stop);
        if (rc === P_HEAD) w.i32[this.info + OUT_SKIP_BODY] = this.headRc === SINK_SKIP_BODY ? 1 : 0;
        // resume even with nothing left: what follows the pause may need no input (skip the body)
        off += stop;
        if (w.owner !== this) {
          // a sink ran another parser, which used the shared buffer
          chunk.copy(w.u8, w.scratch, start, start + n);
          w.owner = this;
        }
      }
      start += n;
    }
    this.leave();
    this.pos = len;
    return E_OK;
  }

  protected override runFinish(): number {
    if (this.stale) {
      this.stale = false;
      this.kept = null;
      this.reinit(this.closing ? 1 : 0);
    }
    const rc = wasm().x.sluice_finish(this.ptr);
    this.delta = 0;
    this.walk(0);
    return rc === E_OK ? E_OK : this.fail(rc, 0);
  }

  /** Calls the sink for each record from `first`. Returns the index of the record the sink paused at, or -1. */
  private walk(first: number): number {
    const w = wasm();
    let t = w.i32;
    const n = t[this.info + OUT_COUNT];
    for (let i = first, r = this.table + first * RECORD_INTS; i < n; i++, r += RECORD_INTS) {
      const kind = t[r];
      // field lines are most records: whole names and values are stored here, the rest in handle()
      if (this.open === 0 && (kind === EV_NAME || kind === EV_VALUE)) {
        const h = this.target;
        const o = this.delta + this.hoff;
        if (kind === EV_VALUE) {
          const j = h.headerCount * 5 - 3;
          h.headers[j] = t[r + 1] + o;
          h.headers[j + 1] = t[r + 2] + o;
        } else {
          const j = h.add();
          const hs = h.headers;
          hs[j] = t[r + 1] + o;
          hs[j + 1] = hs[j + 2] = hs[j + 3] = t[r + 2] + o;
          hs[j + 4] = t[r + 3];
        }
        continue;
      }
      if (this.handle(kind, t[r + 1], t[r + 2], t[r + 3]) === SINK_PAUSE) return i;
      if (this.deferred !== 0) return -1;
      t = w.i32; // a sink may allocate a parser, which may grow memory
    }
    return -1;
  }
}

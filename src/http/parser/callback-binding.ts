// The per-span callback binding, the undici way, kept to compare with the span table: the C glue
// calls the imported sluice_on_span for every record, which reaches this parser through the
// module-level hook set around sluice_exec. Same wasm module, callback mode set at alloc.
// Not re-entrant: a sink must not run another CallbackHttpParser from inside a callback.

import { E_OK, E_PAUSED } from './types.js';
import type { ParserLimits, ParserSink } from './types.js';
import { OUT_BODY_LEFT, OUT_ERROR_POS, SCRATCH_SIZE, FIRST_SLICE } from './constants.js';
import { ParserCore } from './core.js';
import { wasm } from './instance.js';

export class CallbackHttpParser extends ParserCore {
  constructor(kind: number, sink: ParserSink, limits?: ParserLimits) {
    super(kind, sink, limits, 1);
  }

  protected override run(chunk: Buffer, from: number): number {
    const w = wasm();
    this.enter(chunk, from);
    const len = chunk.length;
    let start = from;
    let size = FIRST_SLICE;
    for (;;) {
      const taken = this.takeBody(chunk, start);
      if (this.deferred !== 0) return E_OK;
      start += taken;
      if (taken === 0 ? start >= len : w.i32[this.info + OUT_BODY_LEFT] > 0) break;
      const n = Math.min(len - start, size);
      size = SCRATCH_SIZE;
      chunk.copy(w.u8, w.scratch, start, start + n);
      this.delta = start;
      w.hook = this;
      const rc = w.x.sluice_exec(this.ptr, w.scratch, n);
      w.hook = null;
      if (this.deferred !== 0) return E_OK;
      if (rc !== E_OK) {
        const stop = start + w.i32[this.info + OUT_ERROR_POS];
        if (rc !== E_PAUSED) return this.fail(rc, stop);
        this.pos = stop;
        return E_PAUSED;
      }
      start += n;
    }
    this.leave();
    this.pos = len;
    return E_OK;
  }

  protected override runFinish(): number {
    const w = wasm();
    this.delta = 0;
    w.hook = this;
    const rc = w.x.sluice_finish(this.ptr);
    w.hook = null;
    return rc === E_OK ? E_OK : this.fail(rc, 0);
  }
}

// The one WebAssembly instance every parser shares, created on first use (cf. undici's lib/llhttp).
// Each parser owns a C state and span table in its memory; the input buffer is shared.

import { WASM_BASE64 } from './wasm.js';

/** What the C side exports (c/api.c). Pointers are byte offsets into memory. */
interface Exports {
  memory: { buffer: ArrayBuffer };
  sluice_alloc(kind: number, callbacks: number, maxStartLine: number, maxFieldLine: number,
    maxHead: number, maxHeaders: number): number;
  sluice_free(p: number): void;
  sluice_reinit(p: number, closed: number): void;
  sluice_table(p: number): number;
  sluice_scratch(): number;
  sluice_exec(p: number, buf: number, len: number): number;
  sluice_skip(p: number, n: number): void;
  sluice_finish(p: number): number;
}

/** lib.dom-free view of the WebAssembly global. */
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** Receives records in callback mode (callback-binding.ts). */
export interface SpanHook {
  handle(kind: number, a: number, b: number, c: number): number;
}

export class Wasm {
  readonly x: Exports;
  u8: Uint8Array;
  i32: Int32Array;
  readonly scratch: number;
  /** The parser whose chunk is in the scratch buffer (a sink may run another parser meanwhile). */
  owner: object | null = null;
  /** The callback-mode parser inside sluice_exec, if any. */
  hook: SpanHook | null = null;

  constructor() {
    const wa = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
    const module = new wa.Module(Buffer.from(WASM_BASE64, 'base64'));
    const instance = new wa.Instance(module, { env: { sluice_on_span: onSpan } });
    this.x = instance.exports as Exports;
    this.u8 = new Uint8Array(this.x.memory.buffer);
    this.i32 = new Int32Array(this.x.memory.buffer);
    this.scratch = this.x.sluice_scratch();
  }

  /** Memory grows only in malloc: call after alloc. */
  refresh(): void {
    const b = this.x.memory.buffer;
    if (this.u8.buffer !== b) {
      this.u8 = new Uint8Array(b);
      this.i32 = new Int32Array(b);
    }
  }

  /** A NUL-terminated string in memory. */
  cstring(p: number): string {
    if (p === 0) return '';
    const u8 = this.u8;
    let e = p;
    while (u8[e] !== 0) e++;
    return Buffer.from(u8.buffer, p, e - p).toString('latin1');
  }
}

let instance: Wasm | null = null;

export function wasm(): Wasm {
  return instance ??= new Wasm();
}

/* the sluice_on_span import: module-level, finds its parser through `hook` */
function onSpan(_p: number, kind: number, a: number, b: number, c: number): number {
  return instance!.hook!.handle(kind, a, b, c);
}

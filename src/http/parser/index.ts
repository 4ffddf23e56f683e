// The HTTP/1.1 parser: an llparse grammar compiled to wasm, driven through a span table.
// See docs/parser.md for the grammar, the strictness choices and the binding's flow.

export { HttpParser } from './table-binding.js';
export * from './types.js';

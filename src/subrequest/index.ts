// Subrequests plug into the http layer when this module is loaded: r.location, and the capture
// filter (on top of the header chain, just below copy in the body chain: src/filters/index.ts).

export { captureModule } from './module.js';

export { LocationApi, createSubrequest, type CaptureOptions, type CaptureSpec } from './subrequest.js';
export { CaptureSink, decodeBody, type CaptureResult, type CaptureStream } from './capture.js';

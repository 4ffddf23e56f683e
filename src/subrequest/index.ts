// Subrequests plug into the http layer when this module is loaded: r.location, and the capture
// filter (on top of the header chain, just below copy in the body chain: src/filters/index.ts).

import { registerCaptureFilter } from '../filters/index.js';
import { setLocationFactory, type Request } from '../http/request.js';
import { CaptureBodyFilter, CaptureHeaderFilter } from './capture-filter.js';
import { LocationApi } from './subrequest.js';

registerCaptureFilter({ header: new CaptureHeaderFilter(), body: new CaptureBodyFilter() });
setLocationFactory((r: Request) => new LocationApi(r));

export { LocationApi, createSubrequest, type CaptureOptions, type CaptureSpec } from './subrequest.js';
export { CaptureSink, decodeBody, type CaptureResult, type CaptureStream } from './capture.js';

// How V8 places a request's objects (no nginx counterpart: nginx frees a request's memory with
// its pool, Node leaves it to V8's generational garbage collector).
//
// V8 watches each array and object literal in the code (an "allocation site"): when nearly all of
// what a site made was still alive at a young-generation GC that ran at the young generation's
// full size, V8 decides the site makes long-lived objects and from then on allocates them straight
// in the old generation ("allocation-site pretenuring"). The decision is final. A server trips it:
// every request in flight keeps its arrays alive across a GC that happens to run while it waits
// for an upstream, so a request's short-lived arrays (a subrequest's header lists, a proxy's
// state lists) end up in the old generation, where they die by the thousand. Measured on the md5
// capture scenario (bench/RESULTS.md, sixteenth session): 5–8 such sites on Node 20, about
// 0.8 MB of dead arrays promoted per young GC, a full GC every 1.4 s, and each young GC 1.5–2.3x
// as long (the old arrays point into the young generation, so every young GC scans them); the
// same on Node 22 and, less so, on Node 24. Rewriting the sites does not help: with the first
// five rewritten, V8 picked eight others.
//
// So the server turns the heuristic off for its process before it accepts (public API:
// v8.setFlagsFromString; V8 reads this flag at each GC and when it optimises code). Objects then
// live and die in the young generation like the requests that hold them; what lives long is
// promoted by age as before. SLUICE_V8_PRETENURING=on leaves V8's default.

import { setFlagsFromString } from 'node:v8';

let tuned: boolean | null = null;

/**
 * Turn V8's allocation-site pretenuring off for this process, once (startServer calls it before
 * listening). False when SLUICE_V8_PRETENURING=on kept V8's default.
 */
export function tuneHeap(): boolean {
  if (tuned !== null) return tuned;
  tuned = process.env.SLUICE_V8_PRETENURING !== 'on';
  if (tuned) setFlagsFromString('--no-allocation-site-pretenuring');
  return tuned;
}

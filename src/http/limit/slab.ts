// cf. src/core/ngx_slab.c — how many states fit in a zone of a given size. nginx keeps a zone's
// states in a slab allocator over its shared memory; this is a model of that allocator's
// bookkeeping (no memory is taken): the same page count from the size, the same size classes and
// slots per page, so a zone holds about as many states as nginx's does (a 32k limit_req zone:
// 191 short-key states in both). Pages are counted as if every class were packed tight, where
// nginx may keep a page of a class half empty after frees.

/** nginx's page (ngx_pagesize on x86-64 Linux). */
export const PAGE_SIZE = 4096;
/** The smallest zone nginx accepts (8 pages). */
export const MIN_ZONE_SIZE = 8 * PAGE_SIZE;

const PAGE_SHIFT = 12;
const MIN_SHIFT = 3;                 // the smallest slot: 8 bytes
const MAX_SLOT = PAGE_SIZE / 2;      // larger allocations take whole pages
const EXACT_SHIFT = 6;               // 64-byte slots: the page's bitmap fits in its descriptor
const POOL_HEADER = 200;             // sizeof(ngx_slab_pool_t) on x86-64
const PAGE_DESC = 24;                // sizeof(ngx_slab_page_t)
const STAT = 32;                     // sizeof(ngx_slab_stat_t)

/** Slots of 2^shift bytes one page holds (small slots give some to the page's bitmap). */
function slotsPerPage(shift: number): number {
  const n = PAGE_SIZE >> shift;
  if (shift >= EXACT_SHIFT) return n;
  const map = Math.max(1, (n / ((1 << shift) * 8)) | 0);
  return n - map;
}

/** The size class of an allocation of `bytes`: its shift, or 0 for whole pages. */
function classOf(bytes: number): number {
  if (bytes > MAX_SLOT) return 0;
  let shift = MIN_SHIFT;
  while ((1 << shift) < bytes) shift++;
  return shift;
}

/** Pages a zone of `size` bytes gives to allocations (ngx_slab_init). */
export function zonePages(size: number): number {
  const classes = PAGE_SHIFT - MIN_SHIFT;
  const head = POOL_HEADER + classes * (PAGE_DESC + STAT);
  let pages = Math.floor((size - head) / (PAGE_SIZE + PAGE_DESC));
  // the pages start at the first page boundary after their descriptors
  const start = Math.ceil((head + pages * PAGE_DESC) / PAGE_SIZE) * PAGE_SIZE;
  const fit = Math.floor((size - start) / PAGE_SIZE);
  if (fit < pages) pages = fit;
  return pages;
}

/** The allocator of one zone, as counts: pages free, slots used per class. */
export class SlabModel {
  readonly pages: number;
  private freePages: number;
  private readonly used: Int32Array;

  constructor(size: number) {
    this.pages = zonePages(size);
    this.freePages = this.pages;
    this.used = new Int32Array(PAGE_SHIFT);
  }

  /** Take room for `bytes`; false when the zone is full (ngx_slab_alloc_locked returning NULL). */
  alloc(bytes: number): boolean {
    const shift = classOf(bytes);
    if (shift === 0) {
      const p = Math.ceil(bytes / PAGE_SIZE);
      if (this.freePages < p) return false;
      this.freePages -= p;
      return true;
    }
    if (this.used[shift] % slotsPerPage(shift) === 0) {
      // every page of this class is full (or there is none yet): start a new one
      if (this.freePages === 0) return false;
      this.freePages--;
    }
    this.used[shift]++;
    return true;
  }

  /** Give back what alloc(bytes) took. */
  free(bytes: number): void {
    const shift = classOf(bytes);
    if (shift === 0) {
      this.freePages += Math.ceil(bytes / PAGE_SIZE);
      return;
    }
    if (--this.used[shift] % slotsPerPage(shift) === 0) this.freePages++;
  }

  /** Pages not given to any class. */
  get pagesFree(): number {
    return this.freePages;
  }
}

import '@testing-library/jest-dom/vitest';
import { setDefaultSchedule } from './lib/app.svelte';

// Stores apply engine events in batches; tests wait with timers (`flush`), not for frames.
setDefaultSchedule((work) => setTimeout(work, 0));

// jsdom has no layout. The virtualised lists (virtua) need sizes and scrolling: a scrolling
// viewport reports 800×600 px, a virtualised row (absolutely positioned) 800×40 px;
// `offsetParent` is the parent (virtua measures only rows in the layout); scrollTo/scrollBy
// move scrollTop and fire `scroll` as a browser would.
export const VIEWPORT_HEIGHT = 600;
export const ROW_HEIGHT = 40;
/** The observers of each element, so a test can resize one (`resizeElement`). */
const observers = new Map<Element, Set<FakeResizeObserver>>();
function entry(target: Element, height: number) {
  const contentRect = { width: 800, height, top: 0, left: 0, right: 800, bottom: height, x: 0, y: 0 } as DOMRectReadOnly;
  return { target, contentRect } as ResizeObserverEntry;
}
class FakeResizeObserver {
  constructor(private callback: ResizeObserverCallback) {}
  observe(target: Element) {
    const row = target instanceof HTMLElement && target.style.position === 'absolute';
    const height = row ? ROW_HEIGHT : VIEWPORT_HEIGHT;
    if (!observers.has(target)) observers.set(target, new Set());
    observers.get(target)!.add(this);
    queueMicrotask(() => this.callback([entry(target, height)], this as unknown as ResizeObserver));
  }
  unobserve(target: Element) {
    observers.get(target)?.delete(this);
  }
  disconnect() {
    for (const set of observers.values()) set.delete(this);
  }
  notify(target: Element, height: number) {
    this.callback([entry(target, height)], this as unknown as ResizeObserver);
  }
}
/** Tells the observers of `element` (e.g. a virtualised row) that it is now `height` px high, as a
 * browser does when a row's content is laid out again. */
export function resizeElement(element: Element, height: number) {
  for (const observer of observers.get(element) ?? []) observer.notify(element, height);
}
globalThis.ResizeObserver ??= FakeResizeObserver as unknown as typeof ResizeObserver;

Object.defineProperty(HTMLElement.prototype, 'offsetParent', {
  configurable: true,
  get(this: HTMLElement) {
    return this.isConnected ? this.parentElement : null;
  },
});

function scrollToTop(element: Element, top: number) {
  element.scrollTop = Math.max(0, top);
  element.dispatchEvent(new Event('scroll'));
}
Element.prototype.scrollTo ??= function (this: Element, options?: ScrollToOptions | number, y?: number) {
  scrollToTop(this, typeof options === 'number' ? (y ?? 0) : (options?.top ?? this.scrollTop));
} as Element['scrollTo'];
Element.prototype.scrollBy ??= function (this: Element, options?: ScrollToOptions | number, y?: number) {
  scrollToTop(this, this.scrollTop + (typeof options === 'number' ? (y ?? 0) : (options?.top ?? 0)));
} as Element['scrollBy'];

import { tick } from 'svelte';

/**
 * The actions menu of a list's rows (contacts, occupants): one open at a time, its first item
 * focused on opening; Up/Down/Home/End move, Escape closes and gives the focus back to what
 * opened it, Tab or the focus leaving the row closes it.
 */
export class RowMenu {
  /** The key of the row whose menu is open. */
  openFor = $state<string | null>(null);
  private opener: HTMLElement | null = null;

  /** `container`: the element the rows (and so the menus) are in. */
  constructor(private readonly container: () => HTMLElement | undefined) {}

  private items() {
    return [...(this.container()?.querySelectorAll<HTMLElement>('[role="menu"] [role="menuitem"]') ?? [])];
  }

  open = async (key: string, from: EventTarget | null) => {
    this.opener = from instanceof HTMLElement ? from : null;
    this.openFor = key;
    await tick();
    this.items()[0]?.focus();
  };

  close = (refocus = true) => {
    if (this.openFor === null) return;
    this.openFor = null;
    if (refocus && this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  };

  toggle = (key: string, from: EventTarget | null) => (this.openFor === key ? this.close() : this.open(key, from));

  keydown = (event: KeyboardEvent) => {
    const items = this.items();
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      items[(at + step + items.length) % items.length]?.focus();
    } else if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      items[event.key === 'Home' ? 0 : items.length - 1]?.focus();
    } else if (event.key === 'Tab') {
      this.close(false);
    }
  };

  /** The focus left the row (a click elsewhere, Shift+Tab): the menu closes. */
  focusout = (event: FocusEvent) => {
    const next = event.relatedTarget as Node | null;
    const row = (event.currentTarget as HTMLElement).closest('li');
    if (next && !row?.contains(next)) this.close(false);
  };
}

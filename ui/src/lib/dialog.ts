// The keyboard of Rapport's modal dialogs: Escape closes, Tab and Shift+Tab stay inside.

const FOCUSABLE = 'button, input, select, textarea, a[href]';

export function dialogKeydown(event: KeyboardEvent, dialog: HTMLElement | undefined, onclose: () => void) {
  if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    onclose();
  } else if (event.key === 'Tab' && dialog) {
    const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => !e.hasAttribute('disabled'));
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  }
}

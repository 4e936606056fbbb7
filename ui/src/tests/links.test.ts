import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { allowedLink, linkPieces } from '../lib/links';
import { flush, message, signedIn } from './fixtures';

describe('link detection', () => {
  it('makes http, https, xmpp and mailto links; everything else stays text', () => {
    expect(linkPieces('see https://example.org/a?b=c, then xmpp:bob@example.org?message or mailto:x@example.org')).toEqual([
      { text: 'see ' },
      { text: 'https://example.org/a?b=c', href: 'https://example.org/a?b=c' },
      { text: ', then ' },
      { text: 'xmpp:bob@example.org?message', href: 'xmpp:bob@example.org?message' },
      { text: ' or ' },
      { text: 'mailto:x@example.org', href: 'mailto:x@example.org' },
    ]);
    for (const text of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,<script>alert(1)</script>', 'ftp://example.org/x', 'smb://server/share']) {
      expect(linkPieces(text)).toEqual([{ text }]);
    }
    expect(linkPieces('')).toEqual([]);
    expect(allowedLink('JAVASCRIPT:alert(1)')).toBeNull();
    expect(allowedLink('HTTPS://Example.org')).toBe('https://example.org/');
  });
});

describe('links in messages', () => {
  const body = 'look https://example.org/x <b>bold</b> javascript:alert(1) file:///etc/passwd';

  async function open() {
    const started = await signedIn({ messages: [message(1, 'bob@localhost', body, Date.now())] });
    render(App, { store: started.store });
    await started.store.select('bob@localhost');
    await flush();
    return { ...started, log: screen.getByRole('log', { name: 'Messages with Bob' }) };
  }

  it('renders allowed links as links and the rest, HTML included, as literal text', async () => {
    const { log } = await open();
    const links = within(log).getAllByRole('link');
    expect(links).toHaveLength(1);
    expect(links[0]).toHaveAccessibleName('https://example.org/x');
    expect(links[0]).toHaveAttribute('href', 'https://example.org/x');
    expect(log.querySelector('article .message-text')?.textContent).toBe(body);
    expect(log.querySelector('b')).toBeNull();
  });

  it('a click or Enter opens the link through the backend, never by navigating', async () => {
    const user = userEvent.setup();
    const { backend, log } = await open();
    const link = within(log).getByRole('link');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    await flush();
    expect(backend.calls.filter((c) => c.command === 'openLink').map((c) => c.args)).toEqual([['https://example.org/x']]);

    link.focus();
    await user.keyboard('{Enter}');
    await flush();
    expect(backend.calls.filter((c) => c.command === 'openLink')).toHaveLength(2);

    const middle = new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 1 });
    link.dispatchEvent(middle);
    expect(middle.defaultPrevented).toBe(true);
    expect(backend.calls.filter((c) => c.command === 'openLink')).toHaveLength(2);
  });

  it('shows a refused link as an error in words', async () => {
    const { store } = await open();
    await store.openLink('file:///etc/passwd');
    await flush();
    expect(store.error?.code).toBe('link_refused');
    expect(screen.getByRole('alert')).toHaveTextContent('Rapport did not open this link');
  });
});

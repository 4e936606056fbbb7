import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { PAGE } from '../lib/app.svelte';
import { flush, message, signedIn } from './fixtures';

describe('quick switcher', () => {
  it('opens with Ctrl+K, filters as the user types, and Enter opens the chosen conversation', async () => {
    const user = userEvent.setup();
    const { store } = await signedIn({
      messages: [message(1, 'carol@localhost', 'older', 1000), message(2, 'dave@localhost', 'newer', 2000)],
    });
    render(App, { store });
    await user.keyboard('{Control>}k{/Control}');
    const dialog = screen.getByRole('dialog', { name: 'Jump to conversation' });
    const input = within(dialog).getByRole('combobox', { name: 'Jump to' });
    expect(input).toHaveFocus();
    const listbox = within(dialog).getByRole('listbox');
    const options = () => within(listbox).getAllByRole('option').map((o) => o.textContent?.replace(/\s+/g, ' ').trim());
    // Conversations by recent activity first, then the other contacts.
    expect(options()).toEqual(['dave dave@localhost', 'Carol carol@localhost', 'Bob bob@localhost']);
    expect(input).toHaveAttribute('aria-activedescendant', within(listbox).getAllByRole('option')[0].id);

    await user.type(input, 'CAR');
    expect(options()).toEqual(['Carol carol@localhost']);
    await user.clear(input);
    expect(options()).toHaveLength(3);
    await user.keyboard('{ArrowDown}{ArrowDown}');
    const bob = within(listbox).getByRole('option', { name: /Bob/ });
    expect(bob).toHaveAttribute('aria-selected', 'true');
    expect(input).toHaveAttribute('aria-activedescendant', bob.id);
    await user.keyboard('{ArrowDown}'); // wraps around
    expect(within(listbox).getByRole('option', { name: /dave/ })).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowUp}{Enter}');
    await flush();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(store.selected).toBe('bob@localhost');
    expect(screen.getByRole('log', { name: 'Messages with Bob' })).toBeInTheDocument();
  });

  it('Escape closes it and gives the focus back (Cmd+K opens it too)', async () => {
    const user = userEvent.setup();
    const { store } = await signedIn();
    render(App, { store });
    const filter = screen.getByRole('searchbox', { name: 'Filter contacts and conversations' });
    await user.click(filter);
    await user.keyboard('{Meta>}k{/Meta}');
    expect(screen.getByRole('combobox', { name: 'Jump to' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog', { name: 'Jump to conversation' })).not.toBeInTheDocument();
    expect(filter).toHaveFocus();
    expect(store.selected).toBeNull();
  });
});

describe('message search', () => {
  it('shows hits with the matches marked; Escape and Close search clear them', async () => {
    const user = userEvent.setup();
    const { backend, store } = await signedIn({
      messages: [message(1, 'bob@localhost', 'Lunch at noon?', 1000), message(2, 'carol@localhost', 'no lunch today', 2000)],
    });
    render(App, { store });
    const field = screen.getByRole('searchbox', { name: 'Search messages' });
    await user.type(field, 'lunch{Enter}');
    await flush();
    expect(backend.calls.find((c) => c.command === 'search')?.args).toEqual(['lunch', null, 50]);
    const results = screen.getByRole('list', { name: 'Search results' });
    const items = within(results).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(within(items[0]).getByText('Bob')).toBeInTheDocument();
    expect(items[0].querySelector('mark')?.textContent).toBe('Lunch');
    expect(within(items[0]).getByRole('button')).toHaveTextContent('Lunch at noon?');

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('list', { name: 'Search results' })).not.toBeInTheDocument();
    expect(field).toHaveValue('');

    await user.type(field, 'noon');
    await new Promise((r) => setTimeout(r, 350)); // typing searches after a pause
    await flush();
    expect(within(screen.getByRole('list', { name: 'Search results' })).getAllByRole('listitem')).toHaveLength(1);
    await user.click(screen.getByRole('button', { name: 'Close search' }));
    expect(screen.queryByRole('region', { name: 'Search results' })).not.toBeInTheDocument();
  });

  it('renders a hostile snippet as literal text', async () => {
    const user = userEvent.setup();
    const { backend, store } = await signedIn({ messages: [message(1, 'bob@localhost', 'x', 1000)] });
    backend.search = async () => [{ message: message(1, 'bob@localhost', 'x', 1000), snippet: [{ text: '<img src=x onerror=alert(1)>', matched: false }, { text: 'hit', matched: true }, { text: ' [not a match]', matched: false }] }];
    render(App, { store });
    await user.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'hit{Enter}');
    await flush();
    const results = screen.getByRole('list', { name: 'Search results' });
    const snippet = results.querySelector('mark')?.parentElement;
    expect(snippet?.textContent).toBe('<img src=x onerror=alert(1)>hit [not a match]');
    expect(results.querySelectorAll('mark')).toHaveLength(1);
    expect(results.querySelector('mark')?.textContent).toBe('hit');
    expect(document.querySelector('img')).toBeNull();
  });

  it('opening a hit shows its conversation with the message focused, loading older pages as needed', async () => {
    const user = userEvent.setup();
    const now = Date.now();
    const old = [message(1, 'bob@localhost', 'the needle', now - 10_000_000)];
    const filler = Array.from({ length: PAGE * 2 }, (_, i) => message(i + 2, 'bob@localhost', `filler ${i}`, now - 1_000_000 + i));
    const { backend, store } = await signedIn({ messages: [...old, ...filler, message(999, 'carol@localhost', 'hi', now)] });
    render(App, { store });
    await user.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'needle{Enter}');
    await flush();
    await user.click(within(screen.getByRole('list', { name: 'Search results' })).getByRole('button'));
    await flush();
    expect(store.selected).toBe('bob@localhost');
    expect(backend.calls.filter((c) => c.command === 'history').length).toBeGreaterThanOrEqual(3);
    const log = screen.getByRole('log', { name: 'Messages with Bob' });
    const article = within(log).getByText('the needle').closest('article');
    expect(article).toHaveFocus();
    expect(article).toHaveClass('jumped');
    expect(article).toHaveAttribute('aria-current', 'true');
  });
});

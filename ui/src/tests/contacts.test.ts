import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import type { RosterItem } from '../lib/bindings';
import type { MockOptions } from '../lib/mockBackend';
import { contactButton, flush, signedIn } from './fixtures';

async function app(options: MockOptions = {}) {
  const started = await signedIn(options);
  render(App, { store: started.store });
  await flush();
  return { ...started, user: userEvent.setup() };
}

const contacts = () => screen.getByRole('list', { name: 'Contacts' });
const calls = (backend: { calls: { command: string; args: unknown[] }[] }, command: string) =>
  backend.calls.filter((c) => c.command === command).map((c) => c.args);
/** The list's visible structure: group headings as `# name`, contacts by name. */
const structure = () =>
  [...contacts().children].map((li) => (li.getAttribute('role') === 'none' ? `# ${li.querySelector('h3')?.firstChild?.textContent?.trim()}` : li.getAttribute('aria-label')));

describe('adding a contact', () => {
  it('checks the address in words, then adds with name and groups', async () => {
    const { backend, user } = await app();
    await user.click(screen.getByRole('button', { name: 'Add contact…' }));
    const dialog = screen.getByRole('dialog', { name: 'Add contact' });
    const address = within(dialog).getByRole('textbox', { name: 'Address' });
    expect(address).toHaveFocus();

    await user.type(address, 'erin');
    await user.click(within(dialog).getByRole('button', { name: 'Add contact' }));
    expect(address).toHaveAttribute('aria-invalid', 'true');
    expect(address).toHaveAccessibleDescription('An address has a name, an “@” and the server, like name@example.org.');
    expect(calls(backend, 'addContact')).toEqual([]);

    await user.clear(address);
    await user.type(address, 'erin@localhost/phone');
    await user.click(within(dialog).getByRole('button', { name: 'Add contact' }));
    expect(address).toHaveAccessibleDescription(/Leave out the part from the “\/” on/);

    await user.clear(address);
    await user.type(address, ' erin@localhost ');
    await user.type(within(dialog).getByRole('textbox', { name: 'Name (optional)' }), 'Erin');
    await user.type(within(dialog).getByRole('textbox', { name: 'New group' }), 'Work{Enter}');
    expect(within(dialog).getByRole('checkbox', { name: 'Work' })).toBeChecked();
    await user.click(within(dialog).getByRole('button', { name: 'Add contact' }));
    await flush();
    expect(calls(backend, 'addContact')).toEqual([['erin@localhost', 'Erin', ['Work']]]);
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Add contact…' })).toHaveFocus();
    expect(structure()).toEqual(['# Work', 'Erin', '# Ungrouped', 'Bob', 'Carol', 'dave']);
  });

  it('shows what the engine refused in plain words and keeps the dialog open', async () => {
    const { backend, user } = await app();
    backend.addContact = async () => {
      throw { code: 'server_error', condition: 'not-allowed', text: null, message: 'The server refused: not-allowed.' };
    };
    await user.click(screen.getByRole('button', { name: 'Add contact…' }));
    const dialog = screen.getByRole('dialog', { name: 'Add contact' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Address' }), 'erin@localhost{Enter}');
    await flush();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('The server refused: not-allowed.');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('offers to add someone who wrote but is not a contact, from the conversation', async () => {
    const { backend, store, user } = await app();
    backend.receive('zoe@localhost', 'hello?');
    await flush();
    await store.select('zoe@localhost');
    await flush();
    await user.click(screen.getByRole('button', { name: 'Add to contacts…' }));
    const dialog = screen.getByRole('dialog', { name: 'Add contact' });
    expect(within(dialog).getByRole('textbox', { name: 'Address' })).toHaveValue('zoe@localhost');
    await user.click(within(dialog).getByRole('button', { name: 'Add contact' }));
    await flush();
    expect(calls(backend, 'addContact')).toEqual([['zoe@localhost', null, []]]);
  });
});

describe('editing and removing a contact', () => {
  it('renames from the row menu, sending only the name', async () => {
    const { backend, user } = await app();
    await user.click(screen.getByRole('button', { name: 'More actions for Bob' }));
    const menu = screen.getByRole('menu', { name: 'Actions for Bob' });
    expect(within(menu).getByRole('menuitem', { name: 'Edit contact…' })).toHaveFocus();
    await user.click(within(menu).getByRole('menuitem', { name: 'Edit contact…' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit Bob' });
    const name = within(dialog).getByRole('textbox', { name: 'Name (optional)' });
    expect(name).toHaveFocus();
    expect(name).toHaveValue('Bob');
    await user.clear(name);
    await user.type(name, 'Robert{Enter}');
    await flush();
    expect(calls(backend, 'renameContact')).toEqual([['bob@localhost', 'Robert']]);
    expect(calls(backend, 'setContactGroups')).toEqual([]);
    expect(within(contacts()).getByRole('listitem', { name: 'Robert' })).toBeInTheDocument();
  });

  it('edits groups from the conversation header, sending only the groups', async () => {
    const { backend, user } = await app({
      roster: [{ jid: 'bob@localhost', name: 'Bob', groups: ['Work'], subscription: 'both', pending_out: false }],
    });
    await user.click(contactButton(contacts(), 'Bob'));
    await flush();
    const pane = screen.getByRole('main', { name: 'Conversation with Bob' });
    await user.click(within(pane).getByRole('button', { name: 'Edit contact…' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit Bob' });
    await user.click(within(dialog).getByRole('checkbox', { name: 'Work' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'New group' }), 'Friends');
    await user.click(within(dialog).getByRole('button', { name: 'Save' }));
    await flush();
    expect(calls(backend, 'setContactGroups')).toEqual([['bob@localhost', ['Friends']]]);
    expect(calls(backend, 'renameContact')).toEqual([]);
    expect(structure()).toEqual(['# Friends', 'Bob']);
  });

  it('removes only after confirmation', async () => {
    const { backend, user } = await app();
    await user.click(screen.getByRole('button', { name: 'More actions for Bob' }));
    await user.click(screen.getByRole('menuitem', { name: 'Remove contact…' }));
    let confirm = screen.getByRole('alertdialog', { name: 'Remove Bob?' });
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(calls(backend, 'removeContact')).toEqual([]);
    expect(screen.getByRole('button', { name: 'More actions for Bob' })).toHaveFocus();

    await user.click(contactButton(contacts(), 'Bob'));
    await flush();
    await user.click(within(screen.getByRole('main', { name: 'Conversation with Bob' })).getByRole('button', { name: 'Remove contact…' }));
    confirm = screen.getByRole('alertdialog', { name: 'Remove Bob?' });
    await user.click(within(confirm).getByRole('button', { name: 'Remove contact' }));
    await flush();
    expect(calls(backend, 'removeContact')).toEqual([['bob@localhost']]);
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(within(contacts()).queryByRole('listitem', { name: 'Bob' })).not.toBeInTheDocument();
  });

  it('the row menu works with the keyboard: arrows move, Escape closes and gives the focus back', async () => {
    const { user } = await app();
    const more = screen.getByRole('button', { name: 'More actions for Carol' });
    more.focus();
    await user.keyboard('{Enter}');
    const menu = screen.getByRole('menu', { name: 'Actions for Carol' });
    expect(more).toHaveAttribute('aria-expanded', 'true');
    await user.keyboard('{ArrowDown}');
    expect(within(menu).getByRole('menuitem', { name: 'Remove contact…' })).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(within(menu).getByRole('menuitem', { name: 'Edit contact…' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
    expect(more).toHaveFocus();
    expect(more).toHaveAttribute('aria-expanded', 'false');
  });
});

describe('groups and requests', () => {
  const grouped: RosterItem[] = [
    { jid: 'bob@localhost', name: 'Bob', groups: ['Work'], subscription: 'both', pending_out: false },
    { jid: 'carol@localhost', name: 'Carol', groups: ['Work', 'Friends'], subscription: 'both', pending_out: false },
    { jid: 'dave@localhost', name: null, groups: [], subscription: 'both', pending_out: false },
  ];

  it('lists contacts under their groups, ungrouped last, and filters within them', async () => {
    const { user } = await app({ roster: grouped });
    expect(structure()).toEqual(['# Friends', 'Carol', '# Work', 'Bob', 'Carol', '# Ungrouped', 'dave']);
    expect(within(contacts()).getAllByRole('listitem')).toHaveLength(4);
    await user.type(screen.getByRole('searchbox', { name: 'Filter contacts and conversations' }), 'car');
    expect(structure()).toEqual(['# Friends', 'Carol', '# Work', 'Carol']);
    await user.clear(screen.getByRole('searchbox', { name: 'Filter contacts and conversations' }));
    await user.type(screen.getByRole('searchbox', { name: 'Filter contacts and conversations' }), 'nobody');
    expect(structure()).toEqual([]);
    expect(screen.getByText('No contact matches.')).toBeInTheDocument();
  });

  it('shows no group headings when nobody has a group', async () => {
    await app();
    expect(structure()).toEqual(['Bob', 'Carol', 'dave']);
  });

  it('denies a contact request', async () => {
    const { backend, user } = await app({ requests: ['erin@localhost'] });
    expect(screen.getByRole('button', { name: 'Accept erin@localhost' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Deny erin@localhost' }));
    await flush();
    expect(calls(backend, 'denySubscription')).toEqual([['erin@localhost']]);
    expect(calls(backend, 'approveSubscription')).toEqual([]);
    expect(screen.queryByRole('button', { name: 'Deny erin@localhost' })).not.toBeInTheDocument();
  });

  it('keeps a roster of 1,000 contacts to the rows in view', async () => {
    const many: RosterItem[] = Array.from({ length: 1000 }, (_, i) => ({
      jid: `c${String(i).padStart(4, '0')}@localhost`,
      name: `Contact ${String(i).padStart(4, '0')}`,
      groups: [`Team ${i % 10}`],
      subscription: 'both',
      pending_out: false,
    }));
    await app({ roster: many });
    const items = within(contacts()).getAllByRole('listitem');
    expect(items.length).toBeGreaterThan(5);
    expect(items.length).toBeLessThan(60);
    expect(items[0]).toHaveAttribute('aria-label', 'Contact 0000');
    expect(items[0]).toHaveAttribute('aria-setsize', '1000');
    expect(items[1]).toHaveAttribute('aria-posinset', '2');
  });
});

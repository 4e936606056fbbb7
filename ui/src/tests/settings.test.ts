import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import App from '../App.svelte';
import type { MockOptions } from '../lib/mockBackend';
import { contactButton, flush, message, signedIn } from './fixtures';

async function app(options: MockOptions = {}) {
  const started = await signedIn(options);
  render(App, { store: started.store });
  await flush();
  return started;
}

afterEach(() => {
  delete document.documentElement.dataset.theme;
  localStorage.clear();
});

describe('settings dialog', () => {
  it('is a named dialog with labelled controls that save through the backend', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    await user.click(screen.getByRole('button', { name: 'Settings…' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });

    const theme = within(dialog).getByRole('combobox', { name: 'Theme' });
    expect(theme).toHaveFocus();
    expect(within(dialog).getByRole('checkbox', { name: 'Show notifications for new messages' })).toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: 'Play sounds' })).toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: 'Keep running in the tray when the window is closed' })).toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: 'Start minimised to the tray' })).not.toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: 'Start Rapport when I log in' })).not.toBeChecked();

    await user.selectOptions(theme, 'dark');
    await user.click(within(dialog).getByRole('checkbox', { name: 'Play sounds' }));
    await user.click(within(dialog).getByRole('checkbox', { name: 'Start Rapport when I log in' }));
    await flush();
    expect(backend.savedSettings).toMatchObject({ theme: 'dark', sounds: false, start_at_login: true, notifications: true });
    expect(document.documentElement.dataset.theme).toBe('dark');
    // The topbar's theme control follows the saved setting.
    expect(screen.getAllByRole('combobox', { name: 'Theme' })[0]).toHaveValue('dark');
  });

  it('is reachable and usable by keyboard; Escape closes it and focus returns', async () => {
    const user = userEvent.setup();
    await app();
    const opener = screen.getByRole('button', { name: 'Settings…' });
    opener.focus();
    await user.keyboard('{Enter}');
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    await user.tab();
    expect(within(dialog).getByRole('checkbox', { name: 'Show notifications for new messages' })).toHaveFocus();
    await user.keyboard(' ');
    await flush();
    expect(within(dialog).getByRole('checkbox', { name: 'Show notifications for new messages' })).not.toBeChecked();
    // Focus stays inside: Shift+Tab from the first control goes to the last (Close).
    within(dialog).getByRole('combobox', { name: 'Theme' }).focus();
    await user.tab({ shift: true });
    expect(within(dialog).getByRole('button', { name: 'Close' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
  });

  it('shows the saved settings when opened', async () => {
    const user = userEvent.setup();
    await app({ settings: { theme: 'light', notifications: false, close_to_tray: false } });
    expect(document.documentElement.dataset.theme).toBe('light');
    await user.click(screen.getByRole('button', { name: 'Settings…' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    expect(within(dialog).getByRole('combobox', { name: 'Theme' })).toHaveValue('light');
    expect(within(dialog).getByRole('checkbox', { name: 'Show notifications for new messages' })).not.toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: 'Keep running in the tray when the window is closed' })).not.toBeChecked();
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('shows why a setting could not be saved and keeps the saved value', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    backend.updateSettings = async () => {
      throw { code: 'storage', detail: 'x', message: 'could not change starting at login: no home' };
    };
    await user.click(screen.getByRole('button', { name: 'Settings…' }));
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    const box = within(dialog).getByRole('checkbox', { name: 'Start Rapport when I log in' });
    await user.click(box);
    await flush();
    expect(within(dialog).getByRole('alert')).toHaveTextContent('could not change starting at login: no home');
    expect(box).not.toBeChecked();
  });

  it('saves the topbar theme choice in the backend', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Theme' }), 'light');
    await flush();
    expect(backend.savedSettings.theme).toBe('light');
    expect(document.documentElement.dataset.theme).toBe('light');
  });
});

describe('per-conversation mute', () => {
  it('toggles with aria-pressed and is saved', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    await user.click(contactButton(contacts, 'Bob'));
    const pane = screen.getByRole('main', { name: 'Conversation with Bob' });
    const mute = within(pane).getByRole('button', { name: 'Mute' });
    expect(mute).toHaveAttribute('aria-pressed', 'false');
    await user.click(mute);
    await flush();
    expect(mute).toHaveAttribute('aria-pressed', 'true');
    expect(backend.savedSettings.muted).toEqual(['bob@localhost']);
    await user.click(mute);
    await flush();
    expect(mute).toHaveAttribute('aria-pressed', 'false');
    expect(backend.savedSettings.muted).toEqual([]);
  });

  it('shows a conversation muted earlier as pressed', async () => {
    const user = userEvent.setup();
    await app({ settings: { muted: ['carol@localhost'] } });
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    await user.click(contactButton(contacts, 'Carol'));
    expect(screen.getByRole('button', { name: 'Mute' })).toHaveAttribute('aria-pressed', 'true');
  });
});

describe('account actions', () => {
  it('are in the settings dialog, not in the crowded top bar', async () => {
    await app();
    const topbar = screen.getByRole('banner');
    expect(within(topbar).queryByRole('button', { name: 'Sign out' })).not.toBeInTheDocument();
    expect(within(topbar).queryByRole('button', { name: 'Forget this account…' })).not.toBeInTheDocument();
  });

  it('signs out from the settings dialog with the keyboard', async () => {
    const user = userEvent.setup();
    await app();
    screen.getByRole('button', { name: 'Settings…' }).focus();
    await user.keyboard('{Enter}');
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    const account = within(dialog).getByRole('region', { name: 'Account' });
    expect(within(account).getByText('alice@localhost')).toBeInTheDocument();
    within(account).getByRole('button', { name: 'Sign out' }).focus();
    await user.keyboard('{Enter}');
    await flush();
    expect(screen.queryByRole('dialog', { name: 'Settings' })).not.toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Sign in to Rapport' })).toBeInTheDocument();
  });

  it('asks before forgetting the account; Escape cancels and the focus returns to Settings', async () => {
    const user = userEvent.setup();
    await app();
    const settings = screen.getByRole('button', { name: 'Settings…' });
    await user.click(settings);
    await user.click(within(screen.getByRole('dialog', { name: 'Settings' })).getByRole('button', { name: 'Forget this account…' }));
    expect(screen.queryByRole('dialog', { name: 'Settings' })).not.toBeInTheDocument();
    const confirm = screen.getByRole('alertdialog', { name: 'Forget alice@localhost?' });
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(settings).toHaveFocus();
  });
});

describe('notifications plumbing', () => {
  it('tells the backend which conversation is open', async () => {
    const user = userEvent.setup();
    const { backend } = await app();
    expect(backend.openConversation).toBeNull();
    const contacts = screen.getByRole('list', { name: 'Contacts' });
    await user.click(contactButton(contacts, 'Carol'));
    expect(backend.openConversation).toBe('carol@localhost');
    await user.click(screen.getByRole('button', { name: 'Settings…' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Settings' })).getByRole('button', { name: 'Sign out' }));
    await flush();
    expect(backend.openConversation).toBeNull();
  });

  it('opens the conversation of a clicked notification', async () => {
    const { backend } = await app({ messages: [message(1, 'dave@localhost', 'ping', Date.now())] });
    backend.clickNotification('dave@localhost');
    await flush();
    expect(screen.getByRole('main', { name: 'Conversation with dave' })).toBeInTheDocument();
    expect(within(screen.getByRole('log', { name: 'Messages with dave' })).getByText('ping')).toBeInTheDocument();
    expect(backend.openConversation).toBe('dave@localhost');
  });
});

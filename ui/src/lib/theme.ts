// Light/dark: follows `prefers-color-scheme` unless the user picked one. The choice is saved by
// the backend (settings.json); localStorage only caches it so the first paint has the right theme.

export type Theme = 'system' | 'light' | 'dark';
const KEY = 'rapport.theme';

export function loadTheme(): Theme {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

export function applyTheme(theme: Theme) {
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    /* storage unavailable: the choice lasts for this run */
  }
}

// The theme's colour pairs meet WCAG AA (4.5:1 for text) in both themes: read from app.css.
import { describe, expect, it } from 'vitest';
import css from '../app.css?raw';

/** The custom properties of the first rule whose selector is `selector`. */
function variables(selector: string): Record<string, string> {
  const start = css.indexOf(`${selector} {`);
  if (start < 0) throw new Error(`no rule ${selector} in ${css.slice(0, 80)}`);
  const body = css.slice(start, css.indexOf('}', start));
  return Object.fromEntries([...body.matchAll(/(--[\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const light = variables(':root');
const themes = {
  light,
  dark: { ...light, ...variables(":root[data-theme='dark']") },
  'system dark': { ...light, ...variables(":root:not([data-theme='light'])") },
};

describe('colour contrast', () => {
  for (const [name, v] of Object.entries(themes)) {
    it(`danger buttons and danger text are readable in the ${name} theme`, () => {
      expect(contrast(v['--danger-fg'], v['--danger-bg'])).toBeGreaterThanOrEqual(4.5);
      expect(contrast(v['--danger'], v['--bg-elev'])).toBeGreaterThanOrEqual(4.5);
      expect(contrast(v['--accent-fg'], v['--accent'])).toBeGreaterThanOrEqual(4.5);
    });

    it(`delivery marks on our own messages are readable in the ${name} theme`, () => {
      expect(contrast(v['--read'], v['--own'])).toBeGreaterThanOrEqual(4.5);
      // A failed message's bubble is --bg-elev, so "Not sent" is --danger on it; the conversation
      // list says it too, on the sidebar and on its selected row.
      for (const background of ['--bg-elev', '--bg-side', '--theirs']) {
        expect(contrast(v['--danger'], v[background]), background).toBeGreaterThanOrEqual(4.5);
      }
    });
  }
});

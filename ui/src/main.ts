import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { AppStore } from './lib/app.svelte';
import { inTauri, MockBackend, TauriBackend, type Backend } from './lib/backend';
import { demoOptions } from './lib/demo';
import { applyTheme, loadTheme } from './lib/theme';

// Boot marks (read by tests/benches/desktop.rs): the modules evaluated, the first render, then
// the store's (see `mark` in app.svelte.ts).
performance.mark('rapport:eval');
applyTheme(loadTheme());

// Inside the app: the Rust engine. In a plain browser (`npm run dev`): demo data in memory.
const backend: Backend = inTauri() ? new TauriBackend() : new MockBackend(demoOptions());
const store = new AppStore(backend);

performance.mark('rapport:mount');
mount(App, { target: document.getElementById('app')!, props: { store } });
performance.mark('rapport:mounted');
void store.start();

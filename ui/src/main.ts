import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { AppStore } from './lib/app.svelte';
import { inTauri, MockBackend, TauriBackend, type Backend } from './lib/backend';
import { demoOptions } from './lib/demo';
import { applyTheme, loadTheme } from './lib/theme';

applyTheme(loadTheme());

// Inside the app: the Rust engine. In a plain browser (`npm run dev`): demo data in memory.
const backend: Backend = inTauri() ? new TauriBackend() : new MockBackend(demoOptions());
const store = new AppStore(backend);

mount(App, { target: document.getElementById('app')!, props: { store } });
void store.start();

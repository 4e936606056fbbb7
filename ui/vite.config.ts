import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// The app's UI. Built into dist/, which the Tauri binary embeds (src-tauri/tauri.conf.json).
export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // Tauri expects a fixed port in dev and serves the built files from its own origin.
  server: { port: 5173, strictPort: true },
  clearScreen: false,
  build: { target: 'es2022', sourcemap: false },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test-setup.ts'],
    include: ['src/**/*.test.ts'],
    // app.css as text for the contrast test (other CSS stays out of the tests).
    css: { include: [/app\.css/] },
  },
});

import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app reads its settings at run time from /config.json (public/config.json), so one build
// serves every environment; nothing about the gateway is baked into the bundle.
export default defineConfig({
  plugins: [react()],
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { sourcemap: false },
});

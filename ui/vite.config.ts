import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The Tauri shell serves ui/dist (tauri.conf.json "frontendDist"); `npm run dev`
// serves the same UI on :5173 for `tauri dev`.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2021", outDir: "dist", emptyOutDir: true, sourcemap: false },
  test: { environment: "jsdom", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});

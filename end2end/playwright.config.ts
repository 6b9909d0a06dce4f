import { defineConfig, devices } from '@playwright/test';

// Debian's Chromium: browsers cannot be downloaded on our machines (see shared/TOOLCHAIN.md).
// Without the background-networking flags Chromium keeps trying to reach Google's services.
const chromiumLaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

// Point BASE_URL at an already running shop to skip starting one.
const externalBaseURL = process.env.BASE_URL;

export default defineConfig({
  testDir: './tests',
  // Every test uses its own browser context (a fresh guest), so tests can run in parallel.
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  workers: 2,
  // One retry: a test that fails twice fails the run; one that passes on retry is reported as flaky.
  retries: 1,
  // Hydrating a debug WASM bundle on a 2-core machine can take a few seconds per page.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: externalBaseURL ?? 'http://127.0.0.1:3100',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: chromiumLaunchOptions,
      },
    },
  ],
  webServer: externalBaseURL
    ? undefined
    : {
        // Starts the built server on port 3100 with a fresh SQLite database.
        command: 'bash scripts/serve-e2e.sh',
        cwd: '..',
        url: 'http://127.0.0.1:3100/healthz',
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: 'pipe',
      },
});

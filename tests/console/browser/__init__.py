"""The console in a real headless Chromium, against the real stack, API process and worker."""

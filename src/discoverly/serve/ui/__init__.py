"""The web UI: plain server-rendered HTML pages (no JavaScript needed), served by the same app."""

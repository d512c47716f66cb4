"""Reports: self-contained HTML pages of results, runs and history, with charts."""

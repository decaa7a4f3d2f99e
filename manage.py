#!/usr/bin/env python
"""Django's command-line utility for Frontline (same as the `frontline` console script)."""

from frontline.cli import main

if __name__ == "__main__":
    main()
